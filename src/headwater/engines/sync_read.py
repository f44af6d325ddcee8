"""What every engine's side of a sync (reverse ETL, :mod:`headwater.syncs`) shares: the
changes of a model since its last sync, compared in the warehouse's SQL, and the synced
state committed with its record (:mod:`headwater.engines.sync_record`).

A sync's state is ``_headwater.sync_<name>``: each synced row's key and a digest of its
synced columns. Against it a model's rows are *inserts* (a key not synced yet), *updates*
(a key synced with other values) or unchanged; a synced key no longer in the model is a
*delete*. Everything is read in one warehouse transaction begun by the engine's
``sync_read``, so the changes, the counts and the new state are of one snapshot of the
model even while another run rebuilds it.

An engine's reader (a :class:`SyncReadBase`) supplies only its own parts: the digest of a
row in its SQL, how an answer leaves as Arrow, and its driver's error class. The rest is
SQL both DuckDB and PostgreSQL run alike.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from headwater.engines.base import STATE_SCHEMA, SYNC_INSERT, SYNC_OP, SYNC_UPDATE, SyncCounts
from headwater.engines.quoting import ident, qualified
from headwater.engines.sync_record import record_sync
from headwater.errors import EngineError

if TYPE_CHECKING:  # pyarrow is imported by the engines' readers, which make the batches
    import pyarrow as pa

__all__ = ["SyncReadBase", "first_line", "has_state", "ident", "qualified", "state_table"]


def state_table(sync: str) -> str:
    """The name, in ``_headwater``, of sync ``sync``'s state table."""
    return f"sync_{sync}"


def has_state(kept: set[str], key: list[str]) -> bool:
    """Whether a state table with columns ``kept`` is the state of a sync by ``key``: one
    of another key (the sync's key was changed) is no state, so every row is sent."""
    return bool(kept) and set(key) <= kept


def first_line(exc: BaseException) -> str:
    """The first line of a driver's error (its type's name when it has no text)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass
class SyncReadBase(ABC):
    """The changes of one sync, read on ``cur`` inside one transaction (rolled back by
    :meth:`close` unless :meth:`commit_state` committed it): a ``SyncReader``."""

    #: the driver's error, turned into an EngineError naming the model
    driver_error: ClassVar[type[Exception]] = Exception

    cur: Any  # the engine's cursor: execute(sql, params) returns it, rows fetched after
    model: str  # schema.table
    key: list[str]
    columns: list[str]
    state: str  # the state table's name in STATE_SCHEMA
    deletes: bool
    has_state: bool = False
    _open: bool = field(default=True, init=False, repr=False)

    # -- the engine's own parts -----------------------------------------------------

    @abstractmethod
    def _digest(self) -> str:
        """An expression over the model's row: a text digest of its synced columns."""

    @abstractmethod
    def _stream(self, sql: str, batch_rows: int) -> pa.RecordBatchReader:
        """The answer of ``sql`` in this transaction, streamed in batches."""

    @abstractmethod
    def _fetch(self, sql: str) -> pa.Table:
        """The whole answer of ``sql`` in this transaction."""

    # -- the SyncReader -------------------------------------------------------------

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
        return self._guard(lambda: self._stream(sql, batch_rows))

    def removed(self, batch_rows: int) -> pa.RecordBatchReader:
        """The keys of synced rows gone from the model (none without deletes), read whole
        now (keys only): the cursor then serves :meth:`upserts`, a stream of its own."""
        sql = self._gone() if self.deletes else f"{self._gone()} limit 0"
        table = self._guard(lambda: self._fetch(sql))
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
        """The model's rows become the synced state, and ``record`` (load_id, sync, run_id,
        connection, target, rows_read, inserted, updated, deleted) a row of
        ``_headwater.syncs`` and of ``_headwater.loads``, both in this transaction; commit."""
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
            with contextlib.suppress(self.driver_error):
                self.cur.execute("rollback")

    # -- SQL ------------------------------------------------------------------------

    def _source(self) -> str:
        schema, _, table = self.model.partition(".")
        return qualified(schema, table)

    def _compared(self) -> str:
        """Every model row with its digest and the op (NULL: unchanged)."""
        cols = ", ".join(f"n.{ident(c)}" for c in self.columns)
        new = f"select {', '.join(ident(c) for c in self.columns)}, {self._digest()} as _hw_digest"
        new += f" from {self._source()}"
        if not self.has_state:
            return f"select {cols}, n._hw_digest, '{SYNC_INSERT}'::text as {SYNC_OP} from ({new}) n"
        on = " and ".join(f"n.{ident(k)} is not distinct from s.{ident(k)}" for k in self.key)
        op = f"case when s._hw_digest is null then '{SYNC_INSERT}' when s._hw_digest <> "
        op += f"n._hw_digest then '{SYNC_UPDATE}' end"
        state = qualified(STATE_SCHEMA, self.state)
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
        except self.driver_error as exc:
            raise EngineError(f"sync of {self.model}: {first_line(exc)}") from None

    def _run(self, sql: str, params: list[Any] | None = None) -> Any:
        return self._guard(lambda: self.cur.execute(sql, params))

    def _one(self, sql: str) -> tuple[Any, ...]:
        row = self._run(sql).fetchone()
        assert row is not None
        return tuple(row)

    def _records(self, sql: str) -> list[dict[str, Any]]:
        cur = self._run(sql)
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
