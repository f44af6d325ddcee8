"""Writing an Arrow stream into a DuckDB table, and DuckDB's writer settings meanwhile.

A stream goes in by one INSERT per batch (cut below a row group: see :data:`MAX_INSERT_ROWS`),
inside the caller's transaction. On small machines DuckDB runs on one thread and writes one
row group at a time while streams are written (:func:`_writer_settings`); every
``register`` of a Python object goes through :func:`register`, so that it never deadlocks
with that ``SET threads``.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

import duckdb
import pyarrow as pa


def write_stream(
    cur: duckdb.DuckDBPyConnection,
    reader: pa.RecordBatchReader,
    *,
    into: str | None,
    meta: str,
    new: str,
) -> int:
    """Write an Arrow stream into the temp table ``new`` (or create ``into``), one INSERT
    per batch (cut to :data:`MAX_INSERT_ROWS`); return the rows the INSERTs reported.

    Not one ``CREATE TABLE AS`` over the stream: DuckDB then buffers row groups and
    read-ahead batches (peak RSS ~1.1 GB for 6M lineitem rows). DuckDB pulls each batch
    itself, so the wait for the source is inside a statement, where an engine interrupt
    lands. The table takes the stream's types even with no rows; ``now()`` (load time) is
    the transaction's start, the same in every statement."""
    dest, extra = (new, "") if into is None else (into, f", {meta}")
    register(cur, "_hw_batches", reader.schema.empty_table())
    temp = "temp " if into is None else ""
    cur.execute(f"create {temp}table {dest} as select *{extra} from _hw_batches")
    batches = _slices(reader)
    ended = False

    def one() -> Iterator[pa.RecordBatch]:
        nonlocal ended
        for batch in batches:
            yield batch
            return
        ended = True

    inserted = 0
    with _writer_settings(cur):
        while not ended:
            register(cur, "_hw_batches", pa.RecordBatchReader.from_batches(reader.schema, one()))
            row = cur.execute(f"insert into {dest} select *{extra} from _hw_batches").fetchone()
            inserted += int(row[0]) if row else 0
    return inserted


#: The most rows one INSERT of a stream takes. DuckDB 1.5.5 loses every row of an INSERT of
#: a full row group (122,880 rows) or more, from Arrow, on two or more threads, into a table
#: created in the same transaction (NEW always is; a first load's target too): the INSERT
#: reports its rows, the table has none, before and after the COMMIT. Found with
#: PostgreSQL's 133,152-row batches; tests/engines/test_stream_load.py reproduces it.
MAX_INSERT_ROWS = 100_000


def _slices(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    """The stream's batches, each cut into pieces of at most :data:`MAX_INSERT_ROWS` rows
    (zero-copy)."""
    for batch in reader:
        if batch.num_rows <= MAX_INSERT_ROWS:
            yield batch
            continue
        for offset in range(0, batch.num_rows, MAX_INSERT_ROWS):
            yield batch.slice(offset, MAX_INSERT_ROWS)


#: Machines with at most this many cores write streams with DuckDB on one thread.
SINGLE_THREAD_MAX_CPUS = 2
_threads_lock = threading.Lock()
_WRITE_BUFFER = "write_buffer_row_group_count"
_SAVED_SETTINGS = f"select current_setting('threads'), current_setting('{_WRITE_BUFFER}')"
# database -> (loads streaming, the saved (threads, write buffer))
_settings_held: dict[str, tuple[int, tuple[int, ...]]] = {}
_DATABASE_PATH = "select path from duckdb_databases() where database_name = current_database()"


def register(cur: duckdb.DuckDBPyConnection, name: str, data: Any) -> None:
    """``cur.register``, never at the same time as a ``SET threads``.

    DuckDB's ``register`` keeps the GIL while it waits for the database's lock, which
    ``SET threads`` holds while it waits for the other connections' running tasks; an
    INSERT from a Python stream needs the GIL to finish its task: a deadlock of the whole
    process (it hung a demo run; ``tests/engines/test_stream_load.py`` reproduces it). A
    Python lock, which waits without the GIL, keeps the two apart."""
    with _threads_lock:
        cur.register(name, data)


def unregister(cur: duckdb.DuckDBPyConnection, name: str) -> None:
    """``cur.unregister``, never at the same time as a ``SET threads`` (see :func:`register`)."""
    with _threads_lock:
        cur.unregister(name)


@contextlib.contextmanager
def _writer_settings(cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """While streamed loads run on a small machine, the database's ``threads`` is 1: a
    one-batch INSERT is one task, and with more threads the calling thread busy-waits for
    the worker running it (DuckDB's Python client polls), taking CPU from the source's
    decoders and server (6M lineitem rows, 2 cores: 27 vs 18.5 CPU s). ``threads`` is
    database-wide: concurrent loads share one count, the last one restores the old value,
    and statements running meanwhile use one thread.

    Meanwhile ``write_buffer_row_group_count`` is 1 too: by default DuckDB buffers five row
    groups of an INSERT and compresses them together, a burst on the inserting thread that
    stalls the source (0.8-1.1 s per 600k lineitem rows on 2 cores), and compresses the rest
    in the COMMIT (0.44 s per 1M rows). One row group at a time spreads the same work over
    the batches, where it overlaps the source's decoding.

    `SET threads` waits for the other connections' running tasks: every ``register`` goes
    through :func:`register`, so that the two never deadlock."""
    if (os.cpu_count() or 1) > SINGLE_THREAD_MAX_CPUS:
        yield
        return
    key = str(cur.execute(_DATABASE_PATH).fetchone())
    with _threads_lock:
        users, saved = _settings_held.get(key, (0, ()))
        if users == 0:
            row = cur.execute(_SAVED_SETTINGS).fetchone()
            saved = tuple(int(v) for v in row) if row else ()
            cur.execute(f"set threads = 1; set {_WRITE_BUFFER} = 1")
        _settings_held[key] = (users + 1, saved)
    try:
        yield
    finally:
        with _threads_lock:
            users, saved = _settings_held.pop(key)
            if users > 1:
                _settings_held[key] = (users - 1, saved)
            elif saved:  # on a connection of its own: this one's transaction may be aborted
                threads, buffered = saved
                restore = cur.cursor()
                restore.execute(f"set threads = {threads}; set {_WRITE_BUFFER} = {buffered}")
                restore.close()
