"""Arrow streams written by the DuckDB engine: one INSERT per batch, DuckDB on one thread
while it streams on small machines, and nothing committed when the stream fails."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pyarrow as pa
import pytest

from headwater.engines.base import LoadRequest
from headwater.engines.duckdb import stream
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


def load(engine: DuckDBEngine, batches, **kw) -> int:
    req = LoadRequest(
        schema="raw",
        table="t",
        load_id=kw.pop("load_id", 1),
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
    assert load(engine, [batch(7, 2), batch(9, 1)], load_id=2) == 3
    assert engine.execute("select count(*), max(id) from raw.t").fetchone() == (10, 9)


def test_an_empty_stream_creates_the_table_with_the_stream_types(engine):
    assert load(engine, []) == 0
    assert engine.columns("raw", "t") == {
        "id": "BIGINT",
        "v": "VARCHAR",
        "d": "DECIMAL(15,2)",
        "_hw_load_id": "BIGINT",
        "_hw_loaded_at": "TIMESTAMP WITH TIME ZONE",
    }


def test_merge_dedupes_across_batches(engine):
    load(engine, [batch(0, 2), batch(1, 2)], write="merge", primary_key=["id"])
    assert engine.execute("select count(*), count(distinct id) from raw.t").fetchone() == (3, 3)


def test_a_failing_stream_commits_nothing_and_restores_threads(engine, monkeypatch):
    monkeypatch.setattr(stream, "SINGLE_THREAD_MAX_CPUS", 1 << 20)
    engine.execute("set threads = 3")

    def failing() -> Iterator[pa.RecordBatch]:
        yield batch(0, 5)
        raise RuntimeError("source went away")

    with pytest.raises(Exception, match="source went away"):
        load(engine, failing())
    assert not engine.exists("raw", "t")
    assert engine.read_state("raw.t") == {}
    assert threads(engine) == 3


WRITER_SETTINGS = (
    "select current_setting('threads'), current_setting('write_buffer_row_group_count')"
)


def test_duckdb_writes_on_one_thread_a_row_group_at_a_time_on_small_machines(engine, monkeypatch):
    monkeypatch.setattr(stream, "SINGLE_THREAD_MAX_CPUS", 1 << 20)
    engine.execute("set threads = 3; set write_buffer_row_group_count = 7")
    seen: list[tuple[int, int]] = []
    other = engine._con.cursor()  # another connection to the same database

    def watched() -> Iterator[pa.RecordBatch]:
        for i in range(3):
            seen.append(other.execute(WRITER_SETTINGS).fetchone())
            yield batch(i * 10, 10)

    load(engine, watched())
    assert seen == [(1, 1)] * 3
    assert engine.execute(WRITER_SETTINGS).fetchone() == (3, 7)


def test_threads_are_left_alone_on_larger_machines(engine, monkeypatch):
    monkeypatch.setattr(stream, "SINGLE_THREAD_MAX_CPUS", 0)
    engine.execute("set threads = 3")
    seen: list[int] = []
    other = engine._con.cursor()

    def watched() -> Iterator[pa.RecordBatch]:
        seen.append(int(other.execute("select current_setting('threads')").fetchone()[0]))
        yield batch(0, 1)

    load(engine, watched())
    assert seen == [3]


def test_concurrent_streams_restore_threads_after_the_last(engine, monkeypatch):
    monkeypatch.setattr(stream, "SINGLE_THREAD_MAX_CPUS", 1 << 20)
    engine.execute("set threads = 3")
    first_started, second_done = threading.Event(), threading.Event()
    during: list[int] = []
    other = engine._con.cursor()

    def slow() -> Iterator[pa.RecordBatch]:
        yield batch(0, 1)
        first_started.set()
        assert second_done.wait(30)
        during.append(int(other.execute("select current_setting('threads')").fetchone()[0]))
        yield batch(1, 1)

    def first() -> None:
        req = LoadRequest(
            schema="raw", table="a", load_id=1, write="append", batches=reader(slow())
        )
        engine.load("raw.a", req)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_started.wait(30)
    req = LoadRequest(
        schema="raw", table="b", load_id=2, write="append", batches=reader([batch(0, 2)])
    )
    engine.load("raw.b", req)
    second_done.set()
    thread.join(30)
    assert during == [1]  # the second load's end did not restore threads under the first
    assert threads(engine) == 3
    assert engine.execute("select count(*) from raw.a").fetchone() == (2,)


def big_batch(start: int, n: int) -> pa.RecordBatch:
    return pa.record_batch(
        [
            pa.array(range(start, start + n), pa.int64()),
            pa.array(["x"] * n),
            pa.array([None] * n, pa.decimal128(15, 2)),
        ],
        schema=SCHEMA,
    )


def test_batches_of_a_row_group_or_more_land_on_several_threads(engine, monkeypatch):
    """DuckDB 1.5.5 loses every row of an Arrow INSERT of >= 122,880 rows on two threads
    into a table created in the same transaction (a first load's target, the staging table
    NEW): the load cuts batches below that, and every row lands."""
    monkeypatch.setattr(stream, "SINGLE_THREAD_MAX_CPUS", 0)  # as on a larger machine
    engine.execute("set threads = 2")
    rows = 130_000
    assert load(engine, [big_batch(0, rows), big_batch(rows, rows)]) == 2 * rows  # first load
    assert load(engine, [big_batch(2 * rows, rows)], load_id=2) == rows  # through NEW
    got = engine.execute("select count(*), count(distinct id), max(id) from raw.t").fetchone()
    assert got == (3 * rows, 3 * rows, 3 * rows - 1)


def test_a_load_never_commits_fewer_rows_than_it_inserted(engine, monkeypatch):
    """The safety net under the cut: with batches left whole, DuckDB's loss (if this
    DuckDB still has it) fails the load loudly instead of committing a short table."""
    monkeypatch.setattr(stream, "SINGLE_THREAD_MAX_CPUS", 0)
    monkeypatch.setattr(stream, "MAX_INSERT_ROWS", 10**9)
    engine.execute("set threads = 2")
    rows = 130_000
    try:
        written = load(engine, [big_batch(0, rows)])
    except Exception as exc:  # DuckDB lost the rows: the load says so, commits nothing
        assert "staged 0 of the 130000 rows inserted" in str(exc)
        assert getattr(exc, "transient", False) is True
        assert not engine.exists("raw", "t")
        assert engine.read_state("raw.t") == {}
    else:
        assert written == rows
        assert engine.execute("select count(*) from raw.t").fetchone() == (rows,)


SET_THREADS_RACE = """
import sys, threading, time
import duckdb, pyarrow as pa
from headwater.engines.duckdb import stream

stream.SINGLE_THREAD_MAX_CPUS = 1 << 20  # take the SET threads path on any machine
schema = pa.schema([("id", pa.int64())])
for attempt in range(4):
    db = duckdb.connect(sys.argv[1] + str(attempt))
    db.execute("set threads = 2")
    y = db.cursor()
    y.execute("create table t (id bigint)")

    def slow():
        for i in range(20):
            time.sleep(0.05)
            yield pa.record_batch([pa.array(range(i * 10, i * 10 + 10))], schema=schema)

    def insert():  # an INSERT whose task calls Python (needs the GIL) for every batch
        stream.register(y, "s", pa.RecordBatchReader.from_batches(schema, slow()))
        y.execute("insert into t select * from s")

    def set_threads():  # a streamed load starting: SET threads = 1
        x = db.cursor()
        with stream._writer_settings(x):
            pass

    def registers():  # other loads registering their batches meanwhile
        z = db.cursor()
        for _ in range(200):
            stream.register(z, "e", schema.empty_table())
            z.execute("select count(*) from e").fetchall()

    first = threading.Thread(target=insert)
    first.start()
    time.sleep(0.2)
    others = [threading.Thread(target=f) for f in (set_threads, registers)]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join()
    db.close()
print("done")
"""


def test_set_threads_and_register_never_deadlock(tmp_path):
    """DuckDB's register keeps the GIL while it waits for the lock SET threads holds, and
    SET threads waits for an INSERT whose task needs the GIL: the whole process hung (a
    demo run, 2026-11-21; this script hung 2 times in 4 without the fix). In a child
    process, since a deadlock holding the GIL would hang the test runner too."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", SET_THREADS_RACE, str(tmp_path / "race")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stdout.strip() == "done", result.stderr
