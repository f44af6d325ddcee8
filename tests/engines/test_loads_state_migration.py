"""``_headwater.loads`` as older versions made it (``rows_in``, no ``rows_superseded`` or
``schema_changes``): migrated in place when the warehouse is opened for a run, and readable
by ``headwater loads`` before that."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa

from headwater.engines.base import LoadRequest
from headwater.engines.duckdb.engine import DuckDBEngine
from headwater.testing.cli import invoke, write_project

OLD_LOADS = (
    "create schema _headwater; "
    "create table _headwater.loads (load_id bigint primary key, asset varchar, rows_in bigint, "
    "rows_written bigint, rows_rejected bigint, loaded_at timestamptz, run_id varchar); "
    "insert into _headwater.loads values (1, 'raw.orders', 7, 5, 1, now(), 'r0')"
)


def _old_warehouse(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute(OLD_LOADS)
    con.close()


def _columns(eng: DuckDBEngine) -> list[str]:
    return list(eng.columns("_headwater", "loads"))


def test_an_old_loads_table_is_migrated_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    _old_warehouse(path)
    eng = DuckDBEngine(path)
    try:
        eng.ensure_schemas({"raw"})
        assert "rows_in" not in _columns(eng)
        assert {"rows_read", "rows_superseded", "schema_changes"} <= set(_columns(eng))
        rows = pa.table({"id": pa.array([1, 1, 2], pa.int64()), "v": ["a", "b", "c"]})
        request = LoadRequest(
            schema="raw",
            table="orders",
            load_id=eng.new_load_id(),
            write="merge",
            primary_key=["id"],
            batches=rows.to_reader(),
            run_id="r1",
        )
        result = eng.load("raw.orders", request)
        assert (result.rows_read, result.rows_written, result.rows_superseded) == (3, 2, 1)
        assert eng.execute(
            "select run_id, rows_read, rows_written, rows_superseded from _headwater.loads "
            "order by load_id"
        ).fetchall() == [("r0", 7, 5, None), ("r1", 3, 2, 1)]
        eng.ensure_schemas({"raw"})  # a second opening changes nothing
        assert eng.execute("select count(*) from _headwater.loads").fetchone() == (2,)
    finally:
        eng.close()


def test_headwater_loads_reads_a_warehouse_not_yet_migrated(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {"headwater.toml": '[sources.orders]\nfiles = "drops/*.csv"\nprimary_key = ["id"]\n'},
    )
    _old_warehouse(root / ".headwater" / "warehouse.duckdb")
    shown = invoke("loads", "-p", str(root))
    assert shown.exit_code == 0, shown.output
    (row,) = [ln for ln in shown.stdout.splitlines() if "raw.orders" in ln]
    cells = [c.strip() for c in row.split("│")[1:-1]]
    assert cells[3:7] == ["7", "5", "1", "NULL"]  # rows read, written, rejected, superseded
    as_json = invoke("loads", "-f", "json", "-p", str(root))
    (load,) = json.loads(as_json.stdout)
    assert (load["rows_read"], load["rows_superseded"], load["schema_changes"]) == (7, None, [])
