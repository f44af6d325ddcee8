"""Load ids: numbers that are unique in a warehouse, increase, and say when the load began;
warehouses made when load ids were text keep loading."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa

from headwater.engines.base import LoadRequest
from headwater.engines.duckdb.engine import DuckDBEngine


def load(engine: DuckDBEngine, ids: list[int], load_id: int, run_id: str = "r1") -> None:
    table = pa.table({"id": pa.array(ids, pa.int64())})
    req = LoadRequest(
        schema="raw",
        table="t",
        load_id=load_id,
        run_id=run_id,
        write="append",
        batches=table.to_reader(),
    )
    engine.load("raw.t", req)


def test_ids_are_unique_across_threads_and_increase(engine: DuckDBEngine) -> None:
    with ThreadPoolExecutor(4) as pool:  # many in the same microsecond
        ids = list(pool.map(lambda _: engine.new_load_id(), range(2000)))
    assert len(set(ids)) == len(ids)
    later = [engine.new_load_id() for _ in range(3)]
    assert max(ids) < later[0] < later[1] < later[2]


def test_an_id_tells_when_its_load_began(engine: DuckDBEngine) -> None:
    before = time.time()
    load_id = engine.new_load_id()
    load(engine, [1, 2], load_id)
    began, loaded = engine.execute(
        "select distinct epoch(make_timestamptz(_hw_load_id)), epoch(_hw_loaded_at) from raw.t"
    ).fetchone()
    assert before - 0.001 <= began <= loaded <= time.time() + 0.001


def test_ids_continue_past_the_last_recorded_load_after_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    first = DuckDBEngine(path)
    first.ensure_schemas({"raw"})
    future = (int(time.time()) + 3600) * 1_000_000  # a clock set back an hour since
    load(first, [1], future)
    first.close()
    again = DuckDBEngine(path)
    try:
        assert again.new_load_id() == future + 1
        assert again.execute("select load_id, run_id from _headwater.loads").fetchall() == [
            (future, "r1")
        ]
    finally:
        again.close()


def test_a_warehouse_with_text_load_ids_keeps_loading(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    old = DuckDBEngine(path)
    # the tables as Headwater made them when load ids were "<run id>:<asset>"
    old.execute(
        "create schema _headwater; create schema raw; "
        "create table _headwater.loads (load_id varchar primary key, asset varchar, "
        "rows_in bigint, rows_written bigint, rows_rejected bigint, loaded_at timestamptz); "
        "insert into _headwater.loads values ('20261120T060000-1a2b3c:raw.t', 'raw.t', 1, 1, 0, "
        "now()); create table raw.t (id bigint, _hw_load_id varchar, _hw_loaded_at timestamptz);"
        "insert into raw.t values (1, '20261120T060000-1a2b3c:raw.t', now())"
    )
    old.close()
    eng = DuckDBEngine(path)
    try:
        eng.ensure_schemas({"raw"})
        load_id = eng.new_load_id()
        load(eng, [2], load_id)
        assert eng.execute("select id, _hw_load_id from raw.t order by id").fetchall() == [
            (1, "20261120T060000-1a2b3c:raw.t"),
            (2, str(load_id)),
        ]
        assert eng.execute(
            "select load_id, run_id from _headwater.loads order by loaded_at"
        ).fetchall() == [("20261120T060000-1a2b3c:raw.t", None), (str(load_id), "r1")]
    finally:
        eng.close()
