"""SQLite tables read by the warehouse itself (DuckDB's sqlite_scanner) where every column
maps exactly, else through Arrow: the same rows either way, a value that does not fit its
declared type named (table, rowid, column, value) on both paths, cursor windows, and a
file changed during the scan refused. Real SQLite files, the runtime in-process."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from headwater.engines.duckdb.database_scan import extension_file
from headwater.errors import SourceError
from headwater.project import load_project
from headwater.runtime import run
from headwater.sources import sqlite_native
from headwater.sources.connector import TableRead
from headwater.sources.sqlite import SQLiteConnector, arrow_type
from headwater.testing.cli import query_warehouse as table

TOML = """
[connections.shop]
url = "sqlite:///shop.sqlite"

[sources.shop]
connection = "shop"
tables = ["{table}"]
primary_key = ["id"]
cursor = "{cursor}"
write = "{write}"
transport = "{transport}"
"""
ROWS = [
    (1, "a@x", 0.5, "2026-01-01 10:00:00", 10),
    (2, "Ünïcode ✓", float("inf"), "2026-01-02 10:00:00", -(2**63)),
    (3, None, None, "2026-01-02 10:00:00", None),
    (4, "", -0.0, "2026-01-03 00:00:00", 2**63 - 1),
]


def _db(path: Path, rows: list[tuple[Any, ...]] = ROWS, extra: str = "") -> sqlite3.Connection:
    con = sqlite3.connect(path)
    con.execute(
        "create table orders (id integer primary key, email varchar(40), score double, "
        f"updated_at text, qty bigint{extra})"
    )
    con.executemany(f"insert into orders values ({', '.join('?' * len(rows[0]))})", rows)
    con.commit()
    return con


def _project(
    project_dir: Any,
    *,
    transport: str = "auto",
    name: str = "proj",
    table_: str = "orders",
    cursor: str = "updated_at",
    write: str = "merge",
) -> Path:
    toml = TOML.format(table=table_, cursor=cursor, write=write, transport=transport)
    return project_dir({"headwater.toml": toml}, name=name)


def _step_log(root: Path) -> str:
    """The newest run's log of the source step."""
    logs = sorted((root / ".headwater").rglob("raw.shop_*.log"), key=lambda p: p.stat().st_mtime)
    return logs[-1].read_text()


def _everything(root: Path) -> list[tuple[Any, ...]]:
    return table(
        root,
        "select id, email, score, updated_at, qty, typeof(score), typeof(qty) "
        "from raw.shop_orders order by id",
    )


def test_declared_types_judged_exact_are_read_so_by_the_extension(tmp_path: Path) -> None:
    """For each declared type, ``exact`` holds exactly when the extension's column type is
    the one Headwater's mapping gives."""
    declared = ["integer", "INT", "bigint", "tinyint unsigned", "real", "double precision",
                "float", "text", "varchar(20)", "character(3)", "clob", "nvarchar", "blob", "",
                "boolean", "numeric(12,2)", "decimal(5)", "numeric", "date", "datetime",
                "timestamp", "json", "floating point", "string"]  # fmt: skip
    path = tmp_path / "t.sqlite"
    with sqlite3.connect(path) as con:
        cols = ", ".join(f'"c{i}" {t}' for i, t in enumerate(declared))
        con.execute(f"create table t ({cols})")
    duck = duckdb.connect()
    duck.execute(f"load '{extension_file('sqlite').as_posix()}'")
    described = duck.execute(f"describe select * from sqlite_scan('{path}', 't')").fetchall()
    warehouse = {"BIGINT": pa.int64(), "DOUBLE": pa.float64(), "VARCHAR": pa.string()}
    judged = {}
    for (_, kind, *_rest), decl in zip(described, declared, strict=True):
        same = warehouse.get(kind) == arrow_type(decl)
        judged[decl] = sqlite_native.exact(decl, arrow_type(decl))
        # the same type, not the same values: a number in a NUMERIC-affinity column is
        # text for Headwater, a mismatch for the extension (the next test)
        numeric_text = sqlite_native.affinity(decl) == "NUMERIC" and kind == "VARCHAR"
        assert judged[decl] == (same and not numeric_text), (decl, kind)
    assert judged["integer"] and judged["varchar(20)"] and judged["double precision"]
    assert not judged["numeric(12,2)"] and not judged["boolean"] and not judged["json"]


def test_the_extension_refuses_every_value_the_arrow_path_refuses(tmp_path: Path) -> None:
    """SQLite is dynamically typed: the extension fails on a value of another storage class
    in each column it reads natively, as the Arrow path does (nothing is loaded silently);
    and on a number in a NUMERIC-affinity text column, which Headwater loads as its text."""
    duck = duckdb.connect()
    duck.execute(f"load '{extension_file('sqlite').as_posix()}'")
    for declared, value in [("integer", "'abc'"), ("integer", "2.5"), ("integer", "x'00'"),
                            ("real", "'abc'"), ("real", "x'01'"), ("text", "x'41'"),
                            ("json", "5"), ("string", "0.1")]:  # fmt: skip
        path = tmp_path / f"{declared}-{abs(hash(value))}.sqlite"
        with sqlite3.connect(path) as con:
            con.execute(f"create table t (c {declared})")
            con.execute(f"insert into t values ({value})")
        with pytest.raises(duckdb.Error, match="Mismatch Type"):
            duck.execute(f"select * from sqlite_scan('{path}', 't')").fetchall()


def test_exact_table_loads_natively_with_the_rows_of_the_arrow_path(project_dir: Any) -> None:
    native = _project(project_dir, name="native")
    arrow = _project(project_dir, transport="arrow", name="arrow")
    for root in (native, arrow):
        _db(root / "shop.sqlite")
        assert run(load_project(root)).status == "success"
    assert "reading natively: the warehouse reads main.orders itself" in _step_log(native)
    assert "reading natively" not in _step_log(arrow)  # transport = "arrow"
    assert _everything(native) == _everything(arrow)
    assert _everything(native)[1][1:5] == ROWS[1][1:5]


def test_a_column_without_exact_reading_sends_the_table_through_arrow(project_dir: Any) -> None:
    root = _project(project_dir)
    con = _db(root / "shop.sqlite", [(*r, "1.50") for r in ROWS], extra=", price numeric(12,2)")
    con.close()
    assert run(load_project(root)).status == "success"
    assert "column 'price' (numeric(12,2)) has no exact native reading" in _step_log(root)
    assert table(root, "select price::varchar from raw.shop_orders where id = 1") == [("1.50",)]


@pytest.mark.parametrize("transport", ["auto", "arrow"])
@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("qty", "abc", "'abc'"),
        ("qty", 2.5, "2.5"),
        ("email", b"A", "X'41'"),
        ("email", b"\xff", "X'FF'"),  # not UTF-8: DuckDB fails to word its own error
        ("score", "high", "'high'"),
    ],
)
def test_a_value_that_does_not_fit_is_named_on_both_paths(
    project_dir: Any, transport: str, column: str, value: Any, shown: str
) -> None:
    root = _project(project_dir, transport=transport)
    con = _db(root / "shop.sqlite")
    con.execute(f"update orders set {column} = ? where id = 2", [value])
    con.commit()
    result = run(load_project(root))
    step = result.steps["raw.shop_orders"]
    error = step.error or ""
    assert step.status == "failed", error
    assert "table 'orders'" in error and f"column {column!r}" in error, error
    assert "rowid 2" in error, error
    assert (shown if transport == "auto" else repr(value)) in error, error
    assert "\n" not in error.strip()
    assert ("reading natively" in _step_log(root)) == (transport == "auto")
    assert table(
        root, "select count(*) from information_schema.tables where table_name = 'shop_orders'"
    ) == [(0,)]


@pytest.mark.parametrize(("cursor", "write"), [("updated_at", "merge"), ("id", "append")])
def test_incremental_cursor_windows_natively(project_dir: Any, cursor: str, write: str) -> None:
    """The window after the mark is read by the warehouse (cast to the column's type), the
    boundary rows are recognised, the mark advances with the rows."""
    root = _project(project_dir, cursor=cursor, write=write)
    con = _db(root / "shop.sqlite")
    first = run(load_project(root))
    assert first.steps["raw.shop_orders"].result["rows_out"] == 4
    con.execute("insert into orders values (10, 'n@x', 1.0, '2026-01-04 00:00:00', 1)")
    con.execute("insert into orders values (9, 'm@x', 2.0, '2026-01-03 12:00:00', 2)")
    con.commit()
    second = run(load_project(root)).steps["raw.shop_orders"].result
    assert "reading natively" in _step_log(root)
    assert second["rows_out"] == 2
    # the window is cursor >= mark: rows at the mark are re-read, never written again
    assert second["rows_in"] == 3  # the two new rows and the one at the mark
    assert table(root, "select count(*), count(distinct id) from raw.shop_orders") == [(6, 6)]
    mark = table(root, "select state->>'cursor' from _headwater.state")
    assert mark == [("2026-01-04 00:00:00" if cursor == "updated_at" else "10",)]
    third = run(load_project(root)).steps["raw.shop_orders"].result
    assert third["rows_out"] == 0


def test_a_file_changed_during_the_native_read_is_refused(tmp_path: Path) -> None:
    """A commit to the file between the plan and the load's commit: the extension's
    connections may each have seen another moment of the file, so the load is refused."""
    path = tmp_path / "shop.sqlite"
    con = _db(path)
    connector = SQLiteConnector("sqlite:///shop.sqlite", root=tmp_path, name="shop")
    read = TableRead(table="orders")
    plan = connector.native_read(read)
    assert isinstance(plan, sqlite_native.NativeRead)
    connector.native_verify(plan, read, None, "staged")  # nothing changed: accepted
    con.execute("update orders set qty = 5 where id = 1")
    con.commit()
    with pytest.raises(SourceError, match="changed while the warehouse read it") as caught:
        connector.native_verify(plan, read, None, "staged")
    assert caught.value.transient
    connector.close()


def test_transport_native_refuses_a_table_it_cannot_read_exactly(project_dir: Any) -> None:
    root = _project(project_dir, transport="native")
    _db(root / "shop.sqlite", [(*r, 1) for r in ROWS], extra=", ok boolean").close()
    step = run(load_project(root)).steps["raw.shop_orders"]
    assert step.status == "failed"
    assert "transport = 'native' is not possible: column 'ok' (boolean)" in (step.error or "")
