"""The warehouse's side of a sync on PostgreSQL: what changed in a model since its last
sync, as Arrow batches, and the record of what was synced. The same shape and meaning as
DuckDB's (:mod:`headwater.engines.duckdb.sync_diff`), in PostgreSQL's SQL.

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
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pyarrow as pa

from headwater.engines.base import STATE_SCHEMA, SYNC_INSERT, SYNC_OP, SYNC_UPDATE, SyncCounts
from headwater.engines.postgres import arrow_out
from headwater.engines.postgres.connection import PgCursor
from headwater.engines.postgres.sql import ident, qualified, same_keys
from headwater.engines.sync_record import record_sync
from headwater.errors import EngineError


@dataclass
class PgSyncRead:
    """The changes of one sync inside one transaction on ``cur`` (rolled back by
    :meth:`close` unless :meth:`commit_state` committed it): a ``SyncReader``."""

    cur: PgCursor
    model: str  # schema.table
    key: list[str]
    columns: list[str]
    state: str  # the state table's name in STATE_SCHEMA
    deletes: bool
    has_state: bool = False
    _open: bool = field(default=True, repr=False)

    def counts(self) -> SyncCounts:
        """Rows of the model, inserts, updates and (with deletes) deletes."""
        sql = f"select count(*), count(*) filter (where {SYNC_OP} = '{SYNC_INSERT}'), "
        sql += f"count(*) filter (where {SYNC_OP} = '{SYNC_UPDATE}') from ({self._compared()}) c"
        rows, inserts, updates = self._one(sql)
        deletes = self._one(f"select count(*) from ({self._gone()}) g")[0] if self.deletes else 0
        return SyncCounts(int(rows), int(inserts), int(updates), int(deletes))

    def upserts(self, batch_rows: int) -> pa.RecordBatchReader:
        """The inserted and updated rows (the sync's columns and the op), streamed."""
        cols = ", ".join(ident(c) for c in [*self.columns, SYNC_OP])
        sql = f"select {cols} from ({self._compared()}) c where {SYNC_OP} is not null"
        return self._guard(
            lambda: arrow_out.stream(self.cur.connection, sql, batch_rows=batch_rows)
        )

    def removed(self, batch_rows: int) -> pa.RecordBatchReader:
        """The keys of synced rows gone from the model (none without deletes), read whole."""
        sql = self._gone() if self.deletes else f"{self._gone()} limit 0"
        table = self._guard(lambda: arrow_out.fetch_table(self.cur.raw, sql))
        return table.to_reader(max_chunksize=batch_rows)

    def sample(self, n: int) -> dict[str, list[dict[str, Any]]]:
        """Up to ``n`` rows of each change, JSON-ready."""
        cols = ", ".join(ident(c) for c in self.columns)
        out: dict[str, list[dict[str, Any]]] = {}
        for op in (SYNC_INSERT, SYNC_UPDATE):
            sql = f"select {cols} from ({self._compared()}) c where {SYNC_OP} = '{op}' "
            sql += f"order by {cols} limit {int(n)}"
            out[op + "s"] = self._records(sql)
        keys = ", ".join(ident(k) for k in self.key)
        gone = f"select * from ({self._gone()}) g order by {keys} limit {int(n)}"
        out["deletes"] = self._records(gone) if self.deletes else []
        return out

    def commit_state(self, record: dict[str, Any]) -> None:
        """The model's rows become the synced state, ``record`` a row of
        ``_headwater.syncs`` and ``_headwater.loads``, in this transaction; commit."""
        keys = ", ".join(ident(k) for k in self.key)
        table = qualified(STATE_SCHEMA, self.state)
        self._run(f"drop table if exists {table}")
        self._run(
            f"create table {table} as select {keys}, {self._digest()} as _hw_digest "
            f"from {self._source()}"
        )
        record_sync(self._run, record)
        self._run("commit")
        self._open = False

    def close(self) -> None:
        """Roll back what was not committed (twice is harmless)."""
        if self._open:
            self._open = False
            with contextlib.suppress(psycopg.Error):
                self.cur.execute("rollback")

    # -- SQL ------------------------------------------------------------------------

    def _source(self) -> str:
        schema, _, table = self.model.partition(".")
        return qualified(schema, table)

    def _digest(self, alias: str = "") -> str:
        cols = ", ".join(f"{alias}{ident(c)}" for c in self.columns)
        return f"md5(row({cols})::text)"

    def _compared(self) -> str:
        """Every model row with its digest and the op (NULL: unchanged)."""
        cols = ", ".join(f"n.{ident(c)}" for c in self.columns)
        new = f"select *, {self._digest()} as _hw_digest from {self._source()}"
        if not self.has_state:
            return f"select {cols}, n._hw_digest, '{SYNC_INSERT}'::text as {SYNC_OP} from ({new}) n"
        op = f"case when s._hw_digest is null then '{SYNC_INSERT}' when s._hw_digest <> "
        op += f"n._hw_digest then '{SYNC_UPDATE}' end"
        state = qualified(STATE_SCHEMA, self.state)
        on = same_keys(self.key, "n", "s")
        return f"select {cols}, n._hw_digest, {op} as {SYNC_OP} from ({new}) n left join {state} s on {on}"

    def _gone(self) -> str:
        keys = ", ".join(ident(k) for k in self.key)
        if not self.has_state:
            return f"select {keys} from {self._source()} where false"
        state = qualified(STATE_SCHEMA, self.state)
        return f"select {keys} from {state} except select {keys} from {self._source()}"

    def _guard(self, call: Any) -> Any:
        try:
            return call()
        except psycopg.Error as exc:
            raise EngineError(f"sync of {self.model}: {_first_line(exc)}") from None

    def _run(self, sql: str, params: list[Any] | None = None) -> PgCursor:
        return self._guard(lambda: self.cur.execute(sql, params))

    def _one(self, sql: str) -> tuple[Any, ...]:
        row = self._run(sql).fetchone()
        assert row is not None
        return tuple(row)

    def _records(self, sql: str) -> list[dict[str, Any]]:
        cur = self._run(sql)
        names = cur.columns()
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@contextlib.contextmanager
def sync_read(
    cur: PgCursor, *, sync: str, model: str, key: list[str], columns: list[str], deletes: bool
) -> Iterator[PgSyncRead]:
    """A :class:`PgSyncRead` of sync ``sync`` in a transaction begun on ``cur`` (in UTC),
    rolled back at the end unless committed. A dry run needs no write: nothing commits."""
    state = f"sync_{sync}"
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
        raise EngineError(f"sync {sync!r}: {_first_line(exc)}") from None
    kept = {str(r[0]) for r in found}
    # a state of another key (the sync's key was changed) is no state: every row is sent
    read = PgSyncRead(cur, model, key, columns, state, deletes, bool(kept) and set(key) <= kept)
    try:
        yield read
    finally:
        read.close()
