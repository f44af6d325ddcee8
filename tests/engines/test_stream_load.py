"""Arrow streams written by the DuckDB engine: one INSERT per batch, DuckDB on one thread
while it streams on small machines, and nothing committed when the stream fails."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from headwater.engines.base import LoadRequest
from headwater.engines.duckdb.engine import DuckDBEngine

SCHEMA = pa.schema([("id", pa.int64()), ("v", pa.string()), ("d", pa.decimal128(15, 2))])


def batch(start: int, n: int) -> pa.RecordBatch:
    ids = list(range(start, start + n))
    return pa.record_batch(
        [
            pa.array(ids),
            pa.array([f"v{i}" for i in ids]),
            pa.array([None] * n, pa.decimal128(15, 2)),
        ],
        schema=SCHEMA,
    )


def reader(batches: Iterator[pa.RecordBatch] | list[pa.RecordBatch]) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(SCHEMA, iter(batches))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine(tmp_path / "w.duckdb")
    eng.ensure_schemas({"raw"})
    yield eng
    eng.close()


def load(engine: DuckDBEngine, batches, **kw) -> int:
    req = LoadRequest(
        schema="raw",
        table="t",
        load_id=kw.pop("load_id", "L1"),
        write=kw.pop("write", "append"),
        batches=reader(batches),
        **kw,
    )
    return engine.load("raw.t", req).rows_written


def threads(engine: DuckDBEngine) -> int:
    return int(engine.execute("select current_setting('threads')").fetchone()[0])


def test_every_batch_lands_with_one_load_id_and_time(engine):
    assert load(engine, [batch(0, 3), batch(3, 0), batch(3, 4)]) == 7
    rows = engine.execute(
        "select count(*), count(distinct id), count(distinct _hw_load_id), "
        "count(distinct _hw_loaded_at) from raw.t"
    ).fetchone()
    assert rows == (7, 7, 1, 1)
    # a second load goes through the staged path (append onto the existing table)
    assert load(engine, [batch(7, 2), batch(9, 1)], load_id="L2") == 3
    assert engine.execute("select count(*), max(id) from raw.t").fetchone() == (10, 9)


def test_an_empty_stream_creates_the_table_with_the_stream_types(engine):
    assert load(engine, []) == 0
    assert engine.columns("raw", "t") == {
        "id": "BIGINT",
        "v": "VARCHAR",
        "d": "DECIMAL(15,2)",
        "_hw_load_id": "VARCHAR",
        "_hw_loaded_at": "TIMESTAMP WITH TIME ZONE",
    }


def test_merge_dedupes_across_batches(engine):
    load(engine, [batch(0, 2), batch(1, 2)], write="merge", primary_key=["id"])
    assert engine.execute("select count(*), count(distinct id) from raw.t").fetchone() == (3, 3)


def test_batches_are_gathered_into_bounded_inserts(engine, monkeypatch):
    """Rows go in by INSERTs of INSERT_ROWS (or INSERT_BYTES), the last one partial, and
    nothing is lost or doubled at their edges."""
    from headwater.engines.duckdb import loads

    inserted: list[int] = []
    real = loads._insert

    def counted(cur, dest, extra, rows):  # type: ignore[no-untyped-def]
        inserted.append(rows.num_rows)
        real(cur, dest, extra, rows)

    monkeypatch.setattr(loads, "INSERT_ROWS", 5)
    monkeypatch.setattr(loads, "_insert", counted)
    assert load(engine, [batch(i * 2, 2) for i in range(6)]) == 12
    assert inserted == [6, 6]
    inserted.clear()
    monkeypatch.setattr(loads, "INSERT_BYTES", 1)  # every batch is "big"
    assert load(engine, [batch(100, 3), batch(103, 1)], load_id="L2") == 4
    assert inserted == [3, 1]
    assert engine.execute("select count(*), count(distinct id) from raw.t").fetchone() == (16, 16)


def test_a_failing_stream_commits_nothing(engine):
    def failing() -> Iterator[pa.RecordBatch]:
        yield batch(0, 5)
        raise RuntimeError("source went away")

    with pytest.raises(Exception, match="source went away"):
        load(engine, failing())
    assert not engine.exists("raw", "t")
    assert engine.read_state("raw.t") == {}


def test_concurrent_streams_and_commits_leave_threads_alone(engine):
    """Two streamed loads and a third connection's commits at once: nobody waits for
    anybody (a load used to SET threads = 1 while streaming, which deadlocked a run when a
    worker was checkpointing another commit), and ``threads`` stays as it was."""
    engine.execute("set threads = 3")
    first_started, second_done = threading.Event(), threading.Event()
    other = engine._con.cursor()  # another connection to the same database

    def slow() -> Iterator[pa.RecordBatch]:
        yield batch(0, 1)
        first_started.set()
        assert second_done.wait(30)
        yield batch(1, 1)

    def first() -> None:
        req = LoadRequest(
            schema="raw", table="a", load_id="A", write="append", batches=reader(slow())
        )
        engine.load("raw.a", req)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_started.wait(30)
    req = LoadRequest(
        schema="raw", table="b", load_id="B", write="append", batches=reader([batch(0, 2)])
    )
    engine.load("raw.b", req)
    for n in range(5):
        other.execute(f"create or replace table raw.c{n} as select * from range(100000)")
    second_done.set()
    thread.join(30)
    assert not thread.is_alive()
    assert threads(engine) == 3
    assert engine.execute("select count(*) from raw.a").fetchone() == (2,)
