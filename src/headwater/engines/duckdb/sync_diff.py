"""The warehouse's side of a sync (reverse ETL, :mod:`headwater.syncs`): what changed in a
model since its last sync, as Arrow batches, and the record of what was synced.

A sync's state is ``_headwater.sync_<name>``: the key of each row last synced and a digest
of its synced columns (md5 of the row as JSON: stable across DuckDB versions, unlike
``hash()``). Against it a model's rows are *inserts* (a key not synced yet), *updates* (a
key synced with other values) or unchanged; a synced key no longer in the model is a
*delete*. Everything is read in one warehouse transaction (:class:`SyncRead`), so the
changes, the counts and the new state are of one snapshot of the model even while another
run rebuilds it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from headwater.engines.base import STATE_SCHEMA, SyncCounts
from headwater.engines.base import SYNC_INSERT as INSERT
from headwater.engines.base import SYNC_OP as OP
from headwater.engines.base import SYNC_UPDATE as UPDATE
from headwater.engines.duckdb.sql import ident, qualified
from headwater.engines.sync_record import record_sync
from headwater.errors import EngineError


@dataclass
class SyncRead:
    """The changes of one sync, read on a cursor inside one transaction (rolled back by
    :meth:`close` unless :meth:`commit_state` committed it)."""

    cur: duckdb.DuckDBPyConnection
    model: str  # schema.table
    key: list[str]
    columns: list[str]
    state: str  # the state table's name in STATE_SCHEMA
    deletes: bool
    has_state: bool = False
    zone: str = "UTC"  # the cursor's TimeZone before the sync, restored by close()
    _open: bool = field(default=True, repr=False)

    def counts(self) -> SyncCounts:
        """Rows of the model, inserts, updates and (with deletes) deletes."""
        sql = f"select count(*), count(*) filter (where {OP} = '{INSERT}'), "
        sql += f"count(*) filter (where {OP} = '{UPDATE}') from ({self._compared()})"
        rows, inserts, updates = self._one(sql)
        deletes = self._one(f"select count(*) from ({self._gone()})")[0] if self.deletes else 0
        return SyncCounts(int(rows), int(inserts), int(updates), int(deletes))

    def upserts(self, batch_rows: int) -> pa.RecordBatchReader:
        """The inserted and updated rows (the sync's columns and :data:`OP`)."""
        cols = ", ".join(ident(c) for c in [*self.columns, OP])
        sql = f"select {cols} from ({self._compared()}) where {OP} is not null"
        return self._reader(sql, batch_rows)

    def removed(self, batch_rows: int) -> pa.RecordBatchReader:
        """The keys of synced rows gone from the model (empty without deletes), read whole
        now (keys only): the cursor then serves :meth:`upserts`, a stream of its own."""
        sql = self._gone() if self.deletes else f"{self._gone()} limit 0"
        try:
            table = self.cur.execute(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise EngineError(f"sync of {self.model}: {str(exc).splitlines()[0]}") from None
        return table.to_reader(max_chunksize=batch_rows)

    def sample(self, n: int) -> dict[str, list[dict[str, Any]]]:
        """Up to ``n`` rows of each change, JSON-ready (values as DuckDB prints them)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for op in (INSERT, UPDATE):
            sql = f"select * exclude ({OP}, _hw_digest) from ({self._compared()}) "
            sql += f"where {OP} = '{op}' order by all limit {int(n)}"
            out[op + "s"] = self._records(sql)
        out["deletes"] = self._records(f"{self._gone()} order by all limit {int(n)}")
        if not self.deletes:
            out["deletes"] = []
        return out

    def commit_state(self, record: dict[str, Any]) -> None:
        """The model's rows become the synced state, and ``record`` (load_id, sync, run_id,
        connection, target, rows_read, inserted, updated, deleted) a row of
        ``_headwater.syncs`` and of ``_headwater.loads``, both in this transaction; commit."""
        keys = ", ".join(ident(k) for k in self.key)
        table = qualified(STATE_SCHEMA, self.state)
        self._run(
            f"create or replace table {table} as select {keys}, {self._digest()} as _hw_digest "
            f"from {self._source()}"
        )
        record_sync(self._run, record)
        self._run("commit")
        self._open = False

    def forget_state(self) -> None:
        """Drop the synced state (the next sync sends every row again); commit."""
        self._run(f"drop table if exists {qualified(STATE_SCHEMA, self.state)}")
        self._run("commit")
        self._open = False

    def close(self) -> None:
        """Roll back what was not committed (twice is harmless)."""
        if self._open:
            self._open = False
            with contextlib.suppress(duckdb.Error):
                self.cur.execute("rollback")
        with contextlib.suppress(duckdb.Error):  # the run's cursor: as the sync found it
            self.cur.execute("set TimeZone = ?", [self.zone])

    # -- SQL ------------------------------------------------------------------------

    def _source(self) -> str:
        schema, _, table = self.model.partition(".")
        return qualified(schema, table)

    def _digest(self) -> str:
        fields = ", ".join(f"{ident(c)} := {ident(c)}" for c in self.columns)
        return f"md5(to_json(struct_pack({fields}))::varchar)"

    def _compared(self) -> str:
        """Every model row with its digest and :data:`OP` (NULL: unchanged)."""
        cols = ", ".join(f"n.{ident(c)}" for c in self.columns)
        new = f"select {', '.join(ident(c) for c in self.columns)}, {self._digest()} as _hw_digest"
        new += f" from {self._source()}"
        if not self.has_state:
            return f"select {cols}, n._hw_digest, '{INSERT}' as {OP} from ({new}) n"
        on = " and ".join(f"n.{ident(k)} is not distinct from s.{ident(k)}" for k in self.key)
        op = f"case when s._hw_digest is null then '{INSERT}' when s._hw_digest <> "
        op += f"n._hw_digest then '{UPDATE}' end"
        state = qualified(STATE_SCHEMA, self.state)
        return (
            f"select {cols}, n._hw_digest, {op} as {OP} from ({new}) n left join {state} s on {on}"
        )

    def _gone(self) -> str:
        keys = ", ".join(ident(k) for k in self.key)
        if not self.has_state:
            return f"select {keys} from {self._source()} where false"
        state = qualified(STATE_SCHEMA, self.state)
        return f"select {keys} from {state} except select {keys} from {self._source()}"

    def _run(self, sql: str, params: list[Any] | None = None) -> None:
        try:
            self.cur.execute(sql, params)
        except duckdb.Error as exc:
            raise EngineError(f"sync of {self.model}: {str(exc).splitlines()[0]}") from None

    def _one(self, sql: str) -> tuple[Any, ...]:
        self._run(sql)
        row = self.cur.fetchone()
        assert row is not None
        return tuple(row)

    def _reader(self, sql: str, batch_rows: int) -> pa.RecordBatchReader:
        try:
            return self.cur.execute(sql).to_arrow_reader(batch_rows)
        except duckdb.Error as exc:
            raise EngineError(f"sync of {self.model}: {str(exc).splitlines()[0]}") from None

    def _records(self, sql: str) -> list[dict[str, Any]]:
        self._run(sql)
        names = [d[0] for d in self.cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in self.cur.fetchall()]


def model_columns(cur: duckdb.DuckDBPyConnection, model: str) -> list[str]:
    """The columns of warehouse table or view ``model`` (schema.table), in order; empty
    when it does not exist (not built yet)."""
    schema, _, table = model.partition(".")
    rows = cur.execute(
        "select column_name from information_schema.columns where table_schema = ? "
        "and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [str(r[0]) for r in rows]


@contextlib.contextmanager
def sync_read(
    cur: duckdb.DuckDBPyConnection,
    *,
    sync: str,
    model: str,
    key: list[str],
    columns: list[str],
    deletes: bool,
) -> Iterator[SyncRead]:
    """A :class:`SyncRead` of sync ``sync`` in a transaction begun on ``cur`` (in UTC, so
    instants are sent as the warehouse keeps them), rolled back at the end unless committed.
    ``cur`` may be read-only (a dry run) as long as nothing is committed."""
    state = f"sync_{sync}"
    try:
        zone = cur.execute("select current_setting('TimeZone')").fetchone()
        cur.execute("begin transaction")
        cur.execute("set TimeZone = 'UTC'")
        found = cur.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [STATE_SCHEMA, state],
        ).fetchone()
        kept = set(model_columns(cur, f"{STATE_SCHEMA}.{state}")) if found and found[0] else set()
    except duckdb.Error as exc:
        raise EngineError(f"sync {sync!r}: {str(exc).splitlines()[0]}") from None
    # a state of another key (the sync's key was changed) is no state: every row is sent
    has_state = bool(kept) and set(key) <= kept
    read = SyncRead(
        cur, model, key, columns, state, deletes, has_state, str(zone[0] if zone else "UTC")
    )
    try:
        yield read
    finally:
        read.close()
