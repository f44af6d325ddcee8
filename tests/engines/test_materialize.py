"""Model materializations: atomic table rebuilds and incremental merges."""

from __future__ import annotations

import threading
from pathlib import Path

from headwater.engines.duckdb.engine import DuckDBEngine
from headwater.project import load_project
from headwater.runtime import run


def test_table_rebuild_is_atomic_for_readers(tmp_path: Path):
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    engine.ensure_schemas({"marts"})
    sql = "select {v} as v from range(200000)"
    engine.materialize_sql("marts", "t", sql.format(v=0), materialized="table")
    seen: set[tuple] = set()
    stop = threading.Event()

    def reader() -> None:
        cur = engine._con.cursor()
        while not stop.is_set():
            seen.add(cur.execute("select count(*), min(v), max(v) from marts.t").fetchone())
        cur.close()

    thread = threading.Thread(target=reader)
    thread.start()
    for v in range(1, 15):
        engine.materialize_sql("marts", "t", sql.format(v=v), materialized="table")
    stop.set()
    thread.join()
    assert len(seen) > 1  # the reader did observe rebuilds
    assert all(count == 200000 and lo == hi for count, lo, hi in seen)
    engine.close()


def test_failed_rebuild_keeps_the_old_table(tmp_path: Path):
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    engine.ensure_schemas({"marts"})
    engine.materialize_sql("marts", "t", "select i from range(10) t(i)", materialized="table")
    failing = (
        "select case when i = 150000 then error('boom') else i end as i from range(300000) t(i)"
    )
    try:
        engine.materialize_sql("marts", "t", failing, materialized="table")
    except Exception as exc:
        assert "boom" in str(exc)
    else:
        raise AssertionError("the failing rebuild did not fail")
    assert engine.execute("select count(*) from marts.t").fetchone() == (10,)
    engine.close()


def test_incremental_merge_on_unique_key(project_dir):
    root = project_dir(
        {
            "headwater.toml": '[sources.events]\nfiles = "events/*.csv"\nwrite = "append"\n',
            "events/1.csv": "id,v\n1,a\n2,b\n",
            "models/marts/latest.sql": "-- headwater:\n--   materialized: incremental\n--   unique_key: id\n"
            "select id::int as id, max(v) as v from raw.events group by 1",
        }
    )
    run(load_project(root))
    (root / "events/2.csv").write_text("id,v\n2,c\n3,d\n")
    run(load_project(root))
    engine = DuckDBEngine(root / ".headwater/warehouse.duckdb")
    assert engine.execute("select id, v from marts.latest order by id").fetchall() == [
        (1, "a"),
        (2, "c"),
        (3, "d"),
    ]
    engine.close()


def test_incremental_by_time_column_with_lookback(project_dir):
    root = project_dir(
        {
            "headwater.toml": '[sources.events]\nfiles = "events/*.csv"\nwrite = "append"\n',
            "events/1.csv": "day,n\n2026-01-01,1\n2026-01-02,1\n2026-01-03,1\n",
            "models/marts/daily.sql": "-- headwater:\n--   materialized: incremental\n"
            "--   time_column: day\n--   lookback: 1 day\n"
            "select day::date as day, sum(n::int) as n from raw.events group by 1",
        }
    )
    run(load_project(root))
    # a late event for Jan 3 (inside the lookback) and a new day
    (root / "events/2.csv").write_text("day,n\n2026-01-03,5\n2026-01-04,2\n")
    run(load_project(root))
    engine = DuckDBEngine(root / ".headwater/warehouse.duckdb")
    rows = engine.execute("select day::varchar, n from marts.daily order by 1").fetchall()
    assert rows == [("2026-01-01", 1), ("2026-01-02", 1), ("2026-01-03", 6), ("2026-01-04", 2)]
    engine.close()


def test_a_model_can_switch_between_view_and_table(tmp_path: Path):
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    engine.ensure_schemas({"s"})
    assert engine.materialize_sql("s", "m", "select 1 as x", materialized="view") is None
    assert engine.materialize_sql("s", "m", "select 2 as x", materialized="table") == 1
    assert ("s", "m", "BASE TABLE") in engine.tables()
    assert engine.materialize_sql("s", "m", "select 3 as x", materialized="view") is None
    assert ("s", "m", "VIEW") in engine.tables()
    assert engine.execute("select x from s.m").fetchall() == [(3,)]
    engine.close()
