"""Source loads on the PostgreSQL warehouse: each write disposition gives the table DuckDB
gives, the state commits with the rows, schema contracts, and quality hooks quarantine."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from headwater.engines import Engine, LoadRequest, open_engine
from headwater.errors import HeadwaterError, SourceError


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Engine]:
    engine = open_engine("postgres", postgres_url)
    engine.ensure_schemas({"raw"})
    yield engine
    engine.close()


@pytest.fixture
def duck(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine("duckdb", tmp_path / "w.duckdb")
    engine.ensure_schemas({"raw"})
    yield engine
    engine.close()


def _sqlite_source(path: Path, rows: list[tuple[int, str, float, str]]) -> Path:
    con = sqlite3.connect(path)
    con.execute(
        "create table if not exists orders (id integer, status text, amount real, updated text)"
    )
    con.execute("delete from orders")
    con.executemany("insert into orders values (?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    return path


def _read_sqlite(path: Path) -> pa.Table:
    """The source table as Arrow, as a connector hands it to the engine."""
    con = sqlite3.connect(path)
    cur = con.execute("select id, status, amount, updated from orders order by rowid")
    rows = cur.fetchall()
    con.close()
    names = [d[0] for d in cur.description]
    types = [pa.int64(), pa.string(), pa.float64(), pa.string()]
    return pa.table([pa.array([r[i] for r in rows], t) for i, t in enumerate(types)], names=names)


def _load(engine: Engine, data: pa.Table, write: str, **extra: Any) -> Any:
    request = LoadRequest(
        schema="raw", table="orders", load_id=engine.new_load_id(), write=write,  # type: ignore[arg-type]
        batches=data.to_reader(), **extra,
    )  # fmt: skip
    return engine.load("orders", request)


def _rows(engine: Engine, columns: str = "id, status, amount, updated") -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in engine.execute(f"select {columns} from raw.orders order by 1, 2, 3, 4").fetchall()
    ]


FIRST = [(1, "placed", 10.0, "2024-01-01"), (2, "placed", 20.0, "2024-01-01")]
SECOND = [
    (2, "shipped", 20.0, "2024-01-02"),
    (3, "placed", 30.0, "2024-01-02"),
    (3, "paid", 31.0, "2024-01-03"),
]


@pytest.mark.parametrize("write", ["append", "replace", "merge", "scd2"])
def test_a_sqlite_source_loads_as_on_duckdb(
    write: str, pg: Engine, duck: Engine, tmp_path: Path
) -> None:
    source = tmp_path / "shop.sqlite"
    extra = {"primary_key": ["id"]} if write in ("merge", "scd2") else {}
    results = {}
    for name, engine in (("postgres", pg), ("duckdb", duck)):
        for rows in (FIRST, SECOND):
            results[name] = _load(
                engine, _read_sqlite(_sqlite_source(source, rows)), write, **extra
            )
    assert _rows(pg) == _rows(duck)
    assert results["postgres"] == results["duckdb"]  # rows read, written, superseded
    if write == "scd2":
        closed = "select id, status from raw.orders where _hw_valid_to is not null order by 1, 2"
        assert pg.execute(closed).fetchall() == [tuple(r) for r in duck.execute(closed).fetchall()]
    loads = pg.execute("select count(*), sum(rows_read) from _headwater.loads").fetchone()
    assert loads == (2, 5)


def test_a_csv_file_read_in_python_loads_by_copy(pg: Engine, duck: Engine, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name", "signed_up", "score"])
        writer.writerows([[1, "Ann", "2024-01-05", "1.5"], [2, "Bo, Jr.", "2024-02-29", ""]])
    table = pacsv.read_csv(path)
    for engine in (pg, duck):
        request = LoadRequest(schema="raw", table="customers", load_id=engine.new_load_id(),
                              write="replace", batches=table.to_reader())  # fmt: skip
        assert engine.load("customers", request).rows_written == 2
    query = "select id, name, signed_up, score from raw.customers order by id"
    assert pg.execute(query).fetchall() == [tuple(r) for r in duck.execute(query).fetchall()]


def test_an_incremental_append_neither_loses_nor_repeats_rows_at_the_cursor(
    pg: Engine, tmp_path: Path
) -> None:
    source = tmp_path / "shop.sqlite"
    _load(pg, _read_sqlite(_sqlite_source(source, FIRST)), "append", cursor="updated")
    state = pg.read_state("orders")
    assert state["cursor"] == "2024-01-01"
    # the next read is inclusive: the rows at the mark come again, with one new row at it
    again = [*FIRST, (4, "placed", 40.0, "2024-01-01")]
    _load(pg, _read_sqlite(_sqlite_source(source, again)), "append", cursor="updated",
          state=state, boundary=state["cursor"])  # fmt: skip
    assert [r[0] for r in _rows(pg)] == [1, 2, 4]


def test_the_state_commits_with_the_rows_or_not_at_all(pg: Engine, tmp_path: Path) -> None:
    source = tmp_path / "shop.sqlite"
    _load(
        pg,
        _read_sqlite(_sqlite_source(source, FIRST)),
        "merge",
        primary_key=["id"],
        cursor="updated",
    )
    before = (_rows(pg), pg.read_state("orders"))

    def refuse(cur: Any, target: str) -> None:
        raise SourceError("audit refused the load")

    with pytest.raises(SourceError, match="audit refused"):
        _load(pg, _read_sqlite(_sqlite_source(source, SECOND)), "merge", primary_key=["id"],
              cursor="updated", audit=refuse)  # fmt: skip
    assert (_rows(pg), pg.read_state("orders")) == before
    assert pg.execute("select count(*) from _headwater.loads").fetchone() == (1,)


def test_a_failing_check_quarantines_its_rows(pg: Engine, tmp_path: Path) -> None:
    """The screen hook runs in the load's transaction on the staged rows: rows failing the
    check move to the quarantine table in ``_headwater``, the others are written."""
    rows = [*FIRST, (5, "placed", -3.0, "2024-01-01")]

    def screen(cur: Any, staged: str) -> None:
        cur.execute(f"create table if not exists _headwater.quarantine_orders as "
                    f"select *, 'amount >= 0' as _hw_check from {staged} where false")  # fmt: skip
        cur.execute(f"insert into _headwater.quarantine_orders select *, 'amount >= 0' "
                    f"from {staged} where amount < 0")  # fmt: skip
        cur.execute(f"delete from {staged} where amount < 0")

    result = _load(
        pg, _read_sqlite(_sqlite_source(tmp_path / "s.sqlite", rows)), "append", screen=screen
    )
    assert result.rows_written == 2
    assert [r[0] for r in _rows(pg)] == [1, 2]
    quarantined = pg.execute("select id, _hw_check from _headwater.quarantine_orders").fetchall()
    assert quarantined == [(5, "amount >= 0")]


def test_schema_contracts(pg: Engine) -> None:
    first = pa.table({"id": [1], "v": pa.array([1], pa.int32())})
    _load(pg, first, "append")
    wider = pa.table({"id": [2], "v": pa.array([2**40], pa.int64()), "note": ["new"]})
    with pytest.raises(
        SourceError, match=r"freeze.*orders: column 'v' changed type from integer to bigint"
    ):
        _load(pg, wider, "append", contract="freeze")
    result = _load(pg, wider, "append", contract="evolve")
    assert {c.column: c.action for c in result.schema_changes} == {
        "v": "column type changed to bigint", "note": "column added",
    }  # fmt: skip
    assert pg.columns("raw", "orders")["v"] == "bigint"
    texts = pa.table({"id": [3, 4], "v": ["7", "seven"]})
    result = _load(pg, texts, "append", contract="discard_row")
    assert result.rows_written == 1 and result.rows_rejected == 1
    assert pg.execute("select id, v from raw.orders order by id").fetchall() == [
        (1, 1),
        (2, 2**40),
        (3, 7),
    ]


def test_a_wrong_password_is_one_line_without_the_password(postgres_url: str) -> None:
    url = (
        postgres_url.replace("://", "://nobody:s3cret-pw@", 1)
        if "@" not in postgres_url
        else (postgres_url.split("://")[0] + "://nobody:s3cret-pw@" + postgres_url.split("@", 1)[1])
    )
    with pytest.raises(HeadwaterError) as failed:
        open_engine("postgres", url)
    assert failed.value.exit_code == 3
    assert "s3cret-pw" not in str(failed.value) and "\n" not in str(failed.value)
