"""The interface every warehouse engine implements: :class:`Engine` and its :class:`Cursor`.

Callers outside ``headwater.engines`` see an engine only through these two protocols (and
the data types of :mod:`headwater.engines.base`); they never import the engine's driver.
What an engine can do is read from ``engine.capabilities``, never from its name.

Contracts an implementation keeps (the golden tests in ``tests/engines/golden`` and the
engine tests check them):

- **Threads**: ``cursor()`` is this thread's cursor; steps on different threads use
  different cursors and may run at once when ``capabilities.concurrent_writers``.
- **Atomicity**: ``load``, ``materialize_sql``, ``materialize_partition`` and
  ``write_table`` commit whole or not at all; a load's rows and its state commit together.
- **Dialect**: SQL handed to the engine is already rendered for
  ``capabilities.dialect`` (see :mod:`headwater.engines.dialects`).
- **Errors**: the engine's own exceptions are listed by :mod:`headwater.engines.errors`,
  so callers catch them without importing the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import pyarrow as pa

    from headwater.engines.base import Capabilities, LoadRequest, LoadResult, SyncCounts


T = TypeVar("T")


class Cursor(Protocol):
    """A DB-API-like cursor of one thread: ``execute`` returns the cursor, whose rows are
    then fetched. Parameters are positional (``?`` placeholders in the project dialect)."""

    def execute(self, sql: str, parameters: object = ..., /) -> Any: ...
    def fetchone(self) -> tuple[Any, ...] | None: ...
    def fetchall(self) -> list[Any]: ...


class BatchStream(Protocol):
    """An answer as Arrow record batches: ``schema`` first, then the batches (iterate
    once); ``close()`` releases what the stream holds."""

    @property
    def schema(self) -> pa.Schema: ...
    def __iter__(self) -> Iterator[pa.RecordBatch]: ...
    def close(self) -> None: ...


class SyncReader(Protocol):
    """The changes of one sync (reverse ETL) since its last one, read in one warehouse
    transaction (one snapshot of the model): rolled back when the ``sync_read`` block
    ends unless :meth:`commit_state` committed it. Rows are *inserts* (a key not synced
    yet) or *updates* (a key synced with other values; the upserts' column ``_hw_op`` says
    which); a synced key gone from the model is a *delete* (with ``deletes`` only)."""

    def counts(self) -> SyncCounts: ...
    def upserts(self, batch_rows: int) -> pa.RecordBatchReader:
        """The inserted and updated rows (the sync's columns and ``_hw_op``), streamed."""
        ...

    def removed(self, batch_rows: int) -> pa.RecordBatchReader:
        """The keys of the deleted rows (read whole now: keys only)."""
        ...

    def sample(self, n: int) -> dict[str, list[dict[str, Any]]]:
        """Up to ``n`` rows of each change: ``inserts``, ``updates``, ``deletes``."""
        ...

    def commit_state(self, record: dict[str, Any]) -> None:
        """The model's rows become the synced state, ``record`` a row of
        ``_headwater.syncs`` and ``_headwater.loads``; all committed together."""
        ...


class Engine(Protocol):
    """What the runtime, the step kinds, quality and the API need from a warehouse."""

    @property
    def capabilities(self) -> Capabilities: ...

    # -- connections ------------------------------------------------------------------------
    def close(self) -> None: ...
    def cursor(self) -> Cursor:
        """This thread's cursor (made on first use, closed with the engine)."""
        ...

    def execute(self, sql: str, params: list[Any] | None = None) -> Cursor: ...
    def query_arrow(self, sql: str) -> pa.Table:
        """``sql``'s whole answer as an Arrow table."""
        ...

    def transaction(self) -> AbstractContextManager[Cursor]:
        """This thread's cursor inside one transaction: committed when the block ends,
        rolled back when it raises."""
        ...

    def change_quarantine(self, asset: str, edit: Callable[[Any], T]) -> T:
        """``edit`` (statements on a cursor, e.g. the quality module's discard) applied to
        ``quarantine.<table>`` of ``asset`` all or not at all: in one transaction, or,
        on an engine without transactions (Spark), on a copy published in one switch.
        What ``edit`` returns."""
        ...

    def interrupt(self, thread_id: int | None = None) -> None:
        """Cancel the statement running on ``thread_id``'s cursor (every cursor if None)."""
        ...

    # -- catalog ----------------------------------------------------------------------------
    def ensure_schemas(self, schemas: set[str]) -> None: ...
    def exists(self, schema: str, table: str) -> bool: ...
    def columns(self, schema: str, table: str) -> dict[str, str]: ...
    def tables(self) -> list[tuple[str, str, str]]: ...
    def fingerprint(self, schema: str, table: str) -> str: ...

    # -- loads ------------------------------------------------------------------------------
    def read_state(self, asset: str) -> dict[str, Any]: ...
    def new_load_id(self) -> int: ...
    def load(self, asset: str, request: LoadRequest) -> LoadResult:
        """One load, each write disposition (append, replace, merge, scd2), its quality
        hooks (``screen``, ``audit``: quarantine writes) and its state, atomically."""
        ...

    def scan_columns(self, probe_sql: str) -> list[str]:
        """The column names of ``probe_sql``, a file scan in DuckDB's dialect (``limit 0``:
        no rows), read where this engine's loads read files, with the buckets given to
        ``open_bucket``; a SourceError in one line when the files cannot be read."""
        ...

    # -- models -----------------------------------------------------------------------------
    def materialize_sql(
        self,
        schema: str,
        table: str,
        sql: str,
        *,
        materialized: str,
        unique_key: list[str] | None = None,
        time_column: str | None = None,
        lookback: str | None = None,
        audit: Any = None,
    ) -> int | None:
        """A model from its SELECT as a view, table or incremental table (row count; None
        for a view)."""
        ...

    def materialize_partition(
        self,
        schema: str,
        table: str,
        sql: str,
        *,
        partition_by: str,
        interval: tuple[datetime, datetime] | None,
        tz: str = "UTC",
        audit: Any = None,
    ) -> int | None:
        """A partitioned model: ``interval``'s rows replaced atomically (or the whole table
        when ``interval`` is None)."""
        ...

    def write_table(
        self,
        schema: str,
        table: str,
        data: Any,
        *,
        materialized: str,
        unique_key: list[str] | None = None,
        audit: Any = None,
    ) -> int:
        """A Python model's result (an Arrow table or reader, or the engine's relation)."""
        ...

    def relation(self, schema: str, table: str) -> Any:
        """A table as the engine's own lazy relation (``capabilities.relation_type``)."""
        ...

    def relation_of(self, sql: str) -> Any:
        """A query as the engine's own lazy relation (what a task's ``ctx.query`` gives)."""
        ...

    def to_arrow(self, relation: Any) -> pa.Table:
        """One of the engine's relations as an Arrow table."""
        ...

    # -- reads for people (the query page, the CLI, downloads) -------------------------------
    def read_query(
        self, sql: str, params: Sequence[Any] | None = None, *, limit: int | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Columns and rows of one read-only statement that reads only the warehouse's
        tables (the guard); anything else is refused with an EngineError in one line."""
        ...

    def export_batches(self, sql: str, *, limit: int | None = None) -> BatchStream:
        """As :meth:`read_query`, streamed as Arrow record batches."""
        ...

    # -- exports and syncs (``capabilities.files_out``, ``capabilities.sync_diff``) ---------
    def export_table(
        self,
        schema: str,
        table: str,
        folder: str,
        *,
        fmt: str,
        partition_by: str | None = None,
        interval: tuple[datetime, datetime] | None = None,
        interval_column: str | None = None,
        tz: str = "UTC",
    ) -> tuple[int, list[str]]:
        """``schema.table``'s rows (with ``interval``: those whose ``interval_column`` is in
        ``[start, end)``, compared in zone ``tz``) written as ``fmt`` (parquet, csv, jsonl)
        under ``folder``, Hive-style ``column=value/`` folders when ``partition_by``;
        (rows, the files written). Nobody reads ``folder`` yet: the caller publishes it."""
        ...

    def record_export(self, load_id: int, asset: str, run_id: str | None, rows: int) -> None:
        """The export's line in ``_headwater.loads`` (rows read = rows written)."""
        ...

    def sync_read(
        self, *, sync: str, model: str, key: list[str], columns: list[str], deletes: bool
    ) -> AbstractContextManager[SyncReader]:
        """Sync ``sync``'s changes of table ``model`` (schema.table) on its ``key``, its
        synced ``columns`` compared by a per-row digest against the last sync's state."""
        ...
