"""The warehouse's side of a sync on PostgreSQL: what changed in a model since its last
sync, as Arrow batches, and the record of what was synced: what is PostgreSQL's own in
:class:`~headwater.engines.sync_read.SyncReadBase` (the comparison, the state and the record
are shared with DuckDB's).

A sync's state is ``_headwater.sync_<name>``: each synced row's key and a digest of its
synced columns (md5 of the row's text, ``row(...)::text``, read in UTC so an instant's text
does not depend on the session). Everything is read in one REPEATABLE READ transaction on
the engine's connection, so the changes, the counts and the new state are of one snapshot
of the model even while another run rebuilds it; the upserts stream out through a
server-side cursor of that transaction (:mod:`.arrow_out`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pyarrow as pa

from headwater.engines.base import STATE_SCHEMA
from headwater.engines.postgres import arrow_out
from headwater.engines.postgres.connection import PgCursor
from headwater.engines.postgres.sql import ident
from headwater.engines.sync_read import SyncReadBase, first_line, has_state, state_table
from headwater.errors import EngineError


@dataclass
class PgSyncRead(SyncReadBase):
    """The changes of one sync in one REPEATABLE READ transaction on ``cur``
    (:class:`SyncReadBase`)."""

    driver_error = psycopg.Error

    cur: PgCursor

    def _digest(self) -> str:
        return f"md5(row({', '.join(ident(c) for c in self.columns)})::text)"

    def _stream(self, sql: str, batch_rows: int) -> pa.RecordBatchReader:
        # a server-side cursor of this transaction: the rows are never all in memory
        return arrow_out.stream(self.cur.connection, sql, batch_rows=batch_rows)

    def _fetch(self, sql: str) -> pa.Table:
        return arrow_out.fetch_table(self.cur.raw, sql)


@contextlib.contextmanager
def sync_read(
    cur: PgCursor, *, sync: str, model: str, key: list[str], columns: list[str], deletes: bool
) -> Iterator[PgSyncRead]:
    """A :class:`PgSyncRead` of sync ``sync`` in a transaction begun on ``cur`` (in UTC),
    rolled back at the end unless committed. A dry run needs no write: nothing commits."""
    state = state_table(sync)
    try:
        cur.execute("begin isolation level repeatable read")
        cur.execute("set local TimeZone = 'UTC'")
        found = cur.execute(
            "select column_name from information_schema.columns where table_schema = ? "
            "and table_name = ?",
            [STATE_SCHEMA, state],
        ).fetchall()
    except psycopg.Error as exc:
        with contextlib.suppress(psycopg.Error):
            cur.execute("rollback")
        raise EngineError(f"sync {sync!r}: {first_line(exc)}") from None
    kept = {str(r[0]) for r in found}
    read = PgSyncRead(cur, model, key, columns, state, deletes, has_state(kept, key))
    try:
        yield read
    finally:
        read.close()
