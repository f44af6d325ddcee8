"""A read-only query's answer as a stream of Arrow record batches: what the web UI's CSV
and Parquet downloads serialize (:mod:`headwater.api.exports`), so a large answer is never
held whole in memory.

The same guards as :func:`~headwater.engines.duckdb.read.read_query_on`: one SELECT (or
EXPLAIN) only, judged by DuckDB's parser, reading only the warehouse (:mod:`.guard`),
inside a transaction that is always rolled back.
On a server's warehouse the stream has a cursor of its own (``cursor.cursor()``): a
download is read over many calls, perhaps from different threads, and must not share the
per-thread cursor other requests use meanwhile.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from headwater.engines.duckdb.engine import connect
from headwater.engines.duckdb.guard import require_warehouse_reads
from headwater.engines.duckdb.read import _require_a_select
from headwater.errors import EngineError

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_ROWS = 50_000  # rows per batch: a few MB of a wide answer


class BatchStream:
    """An answer's ``schema`` and its record batches (iterate once). The first batch is
    read when the stream is made, so a statement's error is raised then (as
    EngineError), not halfway through a download. ``close()`` (or the end of the
    iteration) rolls back and closes the stream's connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, sql: str, limit: int | None) -> None:
        self._con = con
        self._left = limit
        try:
            _require_a_select(sql)
            require_warehouse_reads(sql)
            con.execute("begin transaction")
            con.execute("set TimeZone = 'UTC'")  # instants as the warehouse keeps them
            self._reader = con.execute(sql).to_arrow_reader(BATCH_ROWS)
            self.schema: pa.Schema = self._reader.schema
            self._first = self._next()
        except duckdb.Error as exc:
            self.close()
            raise EngineError(f"query failed: {str(exc).splitlines()[0]}") from None
        except BaseException:
            self.close()
            raise

    def _next(self) -> pa.RecordBatch | None:
        if self._left is not None and self._left <= 0:
            return None
        try:
            batch = self._reader.read_next_batch()
        except StopIteration:
            return None
        if self._left is not None:
            batch = batch.slice(0, self._left)
            self._left -= batch.num_rows
        return batch

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            batch = self._first
            while batch is not None:
                yield batch
                batch = self._next()
        except duckdb.Error as exc:
            raise EngineError(f"query failed: {str(exc).splitlines()[0]}") from None
        finally:
            self.close()

    def close(self) -> None:
        """Roll back and close the stream's connection (twice is harmless)."""
        con, self._con = self._con, None  # type: ignore[assignment]
        if con is None:
            return
        with contextlib.suppress(duckdb.Error):  # no transaction began (a refused statement)
            con.execute("rollback")
        con.close()


def stream_query_on(cursor: Any, sql: str, *, limit: int | None = None) -> BatchStream:
    """``sql``'s answer (at most ``limit`` rows) on a warehouse this process holds open (a
    server's), through a new connection to it that the stream owns."""
    return BatchStream(cursor.cursor(), sql, limit)


def stream_query(path: Path, sql: str, *, limit: int | None = None) -> BatchStream:
    """``sql``'s answer (at most ``limit`` rows) from the warehouse file at ``path`` opened
    read-only (WarehouseBusy while a run writes it)."""
    return BatchStream(connect(path, read_only=True), sql, limit)
