"""DuckDB warehouse: atomic materializations and loads whose state commits with the data.

Threads: every thread gets its own cursor (a connection to the same database instance), so
steps run in parallel; each load or rebuild is one transaction on that cursor. A process
killed at any instant leaves only committed transactions behind (DuckDB's WAL), which is
what makes reruns after a crash exact.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb

if TYPE_CHECKING:  # pyarrow loads with the first load or Arrow query, not with every run
    import pyarrow as pa

    from headwater.engines.duckdb.export import BatchStream
    from headwater.engines.duckdb.sync_diff import SyncRead

import headwater.engines.duckdb.errors  # noqa: F401  (registers DuckDB's exceptions)
from headwater.engines import catalog
from headwater.engines.base import (
    METADATA_PREFIX,
    STATE_SCHEMA,
    LoadRequest,
    LoadResult,
)
from headwater.engines.duckdb.capabilities import CAPABILITIES
from headwater.engines.duckdb.sql import column_list, fingerprint_query, ident, qualified
from headwater.engines.export_record import record_export
from headwater.errors import EngineError, WarehouseBusy

_STATE_DDL = f"""
create schema if not exists {STATE_SCHEMA};
create table if not exists {STATE_SCHEMA}.state (
    asset varchar primary key, state json, load_id bigint, updated_at timestamptz);
create table if not exists {STATE_SCHEMA}.loads (
    load_id bigint primary key, asset varchar, rows_read bigint, rows_written bigint,
    rows_rejected bigint, loaded_at timestamptz, run_id varchar, rows_superseded bigint,
    schema_changes json);
create table if not exists {STATE_SCHEMA}.rejected_rows (
    load_id bigint, asset varchar, file varchar, line bigint, "column" varchar,
    error varchar, raw varchar);
"""

#: Columns of ``_headwater.loads`` that older warehouses lack, added in place when opened:
#: ``run_id`` (before loads recorded their run; those warehouses' load ids may be text, which
#: take new numeric ids as their digits), ``rows_superseded`` and ``schema_changes``.
_LOADS_ADDED = (("run_id", "varchar"), ("rows_superseded", "bigint"), ("schema_changes", "json"))


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in .*\(PID (\d+)\)")


def connect(
    path: Path, *, read_only: bool = False, config: dict[str, Any] | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file at ``path``.

    Raises :class:`~headwater.errors.WarehouseBusy` (with the holder's PID when DuckDB names
    it) when another process holds the file: DuckDB lets one process write, or several
    read, never both. Any other failure is an :class:`EngineError` naming the file.
    """
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config or {})
    except duckdb.IOException as exc:
        held = _LOCK_HOLDER.search(str(exc))
        if held is None and "Could not set lock" not in str(exc):
            raise EngineError(f"{path}: cannot open the warehouse: {exc}") from None
        pid = int(held.group(1)) if held else None
        by = f" (PID {pid})" if pid else ""
        raise WarehouseBusy(
            f"{path}: the warehouse is in use by another process{by}", path=str(path), pid=pid
        ) from None
    except duckdb.Error as exc:
        raise EngineError(f"{path}: cannot open the warehouse: {exc}") from None


T = TypeVar("T")


class DuckDBEngine:
    """The embedded warehouse at ``path`` (created on first use)."""

    capabilities = CAPABILITIES

    def __init__(
        self, path: Path, *, read_only: bool = False, memory_limit: str | None = None
    ) -> None:
        self.path = path
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, str | bool | int | float | list[str]] = {}
        if memory_limit:
            config["memory_limit"] = memory_limit
        self._con = connect(path, read_only=read_only, config=config)
        self._local = threading.local()
        self._cursors: dict[int, duckdb.DuckDBPyConnection] = {}
        self._lock = threading.Lock()
        self._last_load_id: int | None = None

    # -- connections -------------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cursor = cur
            with self._lock:
                self._cursors[threading.get_ident()] = cur
        return cur

    def interrupt(self, thread_id: int | None = None) -> None:
        """Cancel the statement running on ``thread_id``'s cursor (all cursors if None)."""
        with self._lock:
            targets = [self._cursors[thread_id]] if thread_id in self._cursors else []
            if thread_id is None:
                targets = list(self._cursors.values())
        for cur in targets:
            cur.interrupt()

    def close(self) -> None:
        with self._lock:
            for cur in self._cursors.values():
                cur.close()
            self._cursors.clear()
        self._con.close()

    def execute(self, sql: str, params: list[Any] | None = None) -> duckdb.DuckDBPyConnection:
        return self.cursor().execute(sql, params)

    def query_arrow(self, sql: str) -> pa.Table:
        return self.cursor().sql(sql).to_arrow_table()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """This thread's cursor in one transaction: committed at the end, rolled back when
        the block raises."""
        cur = self.cursor()
        cur.execute("begin transaction")
        try:
            yield cur
        except BaseException:
            cur.execute("rollback")
            raise
        cur.execute("commit")

    def change_quarantine(self, asset: str, edit: Callable[[Any], T]) -> T:
        """``edit`` in one transaction (see the Engine protocol)."""
        with self.transaction() as cur:
            return edit(cur)

    def read_query(
        self, sql: str, params: Sequence[Any] | None = None, *, limit: int | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """One guarded read-only statement (see :func:`.read.read_query_on`)."""
        from headwater.engines.duckdb.read import read_query_on

        return read_query_on(self.cursor(), sql, list(params) if params else None, limit=limit)

    def export_batches(self, sql: str, *, limit: int | None = None) -> BatchStream:
        """One guarded read-only statement's answer as Arrow batches (:mod:`.export`)."""
        from headwater.engines.duckdb.export import stream_query_on

        return stream_query_on(self.cursor(), sql, limit=limit)

    # -- catalog ----------------------------------------------------------------------------

    def ensure_schemas(self, schemas: set[str]) -> None:
        """Create schemas and Headwater's state tables; call once before parallel work."""
        cur = self.cursor()
        cur.execute(_STATE_DDL)
        self._migrate_loads(cur)
        for schema in sorted(schemas):
            cur.execute(f"create schema if not exists {ident(schema)}")

    @staticmethod
    def _migrate_loads(cur: duckdb.DuckDBPyConnection) -> None:
        """Bring an older warehouse's ``_headwater.loads`` to the current columns. One
        catalog read when it is current (every run opens the warehouse: an ALTER per
        column each time cost about 25 ms)."""
        # STATE_SCHEMA is a constant, written inline: binding any parameter makes DuckDB's
        # Python module import pandas (and pyarrow) when pandas is installed, ~0.3 s a run
        have = {
            row[0]
            for row in cur.execute(
                "select column_name from information_schema.columns "
                f"where table_schema = '{STATE_SCHEMA}' and table_name = 'loads'"
            ).fetchall()
        }
        if "rows_in" in have:  # it was printed as "rows read": one name for one count
            cur.execute(f"alter table {STATE_SCHEMA}.loads rename column rows_in to rows_read")
        for column, kind in _LOADS_ADDED:
            if column not in have:
                cur.execute(f"alter table {STATE_SCHEMA}.loads add column {column} {kind}")

    def exists(self, schema: str, table: str) -> bool:
        return catalog.table_exists(self.cursor(), schema, table)

    def columns(self, schema: str, table: str) -> dict[str, str]:
        return catalog.table_columns(self.cursor(), schema, table)

    def tables(self) -> list[tuple[str, str, str]]:
        """(schema, name, kind) of every user table and view."""
        return [
            (s, t, k)
            for s, t, k in self.cursor()
            .execute(
                "select table_schema, table_name, table_type from information_schema.tables "
                "where table_schema not in ('information_schema', 'pg_catalog') "
                "order by 1, 2"
            )
            .fetchall()
        ]

    def fingerprint(self, schema: str, table: str) -> str:
        """Order-independent content hash of a table, load metadata columns excluded."""
        cols = [c for c in self.columns(schema, table) if not c.startswith(METADATA_PREFIX)]
        query = fingerprint_query(qualified(schema, table), column_list(cols))
        row = self.cursor().execute(query).fetchone()
        assert row is not None
        return f"{row[0]}:{row[1]}"

    # -- state ------------------------------------------------------------------------------

    def read_state(self, asset: str) -> dict[str, Any]:
        row = (
            self.cursor()
            .execute(f"select state from {STATE_SCHEMA}.state where asset = ?", [asset])
            .fetchone()
        )
        return json.loads(row[0]) if row and row[0] else {}

    def new_load_id(self) -> int:
        """A new load's id: when it was made, in microseconds since 1970 (UTC), raised past
        the last id this warehouse recorded or handed out, so ids are unique and increase.

        ``make_timestamptz(_hw_load_id)`` reads the time back. Call after
        :meth:`ensure_schemas`.
        """
        cur = self.cursor()  # outside the lock: a thread's first cursor() takes it too
        with self._lock:
            if self._last_load_id is None:
                # try_cast: warehouses made before numeric ids hold text ones ("run:asset")
                try:
                    row = cur.execute(
                        f"select max(try_cast(load_id as bigint)) from {STATE_SCHEMA}.loads"
                    ).fetchone()
                except duckdb.CatalogException:  # nothing loaded yet
                    row = None
                self._last_load_id = int(row[0]) if row and row[0] is not None else 0
            self._last_load_id = max(time.time_ns() // 1000, self._last_load_id + 1)
            return self._last_load_id

    # -- loads and materializations ---------------------------------------------------------

    def load(self, asset: str, request: LoadRequest) -> LoadResult:
        """Write one load and its state atomically (see :mod:`headwater.engines.duckdb.loads`)."""
        from headwater.engines.duckdb.loads import run_load

        return run_load(self.cursor(), asset, request)

    def scan_columns(self, probe_sql: str) -> list[str]:
        """A file scan's columns, read here, with the buckets given to :meth:`open_bucket`."""
        from headwater.engines.duckdb.scan_columns import scan_columns

        return scan_columns(probe_sql, self.cursor())

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
        """Build a model from its SELECT; returns the row count (None for views)."""
        from headwater.engines.duckdb.materialize import materialize

        return materialize(
            self.cursor(),
            schema,
            table,
            sql,
            materialized=materialized,
            unique_key=unique_key or [],
            time_column=time_column,
            lookback=lookback,
            audit=audit,
        )

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
        """Build a partitioned model: only ``interval``'s rows, replaced atomically, or
        (``interval`` None) the whole table (see :mod:`headwater.engines.duckdb.partitions`)."""
        from headwater.engines.duckdb.materialize import materialize
        from headwater.engines.duckdb.partitions import interval_variables, replace_interval

        cur = self.cursor()
        if interval is not None:
            start, end = interval
            return replace_interval(
                cur, schema, table, sql, partition_by=partition_by,
                start=start, end=end, tz=tz, audit=audit,
            )  # fmt: skip
        with interval_variables(cur, None, None, tz):
            return materialize(
                cur, schema, table, sql, materialized="table", unique_key=[],
                time_column=None, lookback=None, audit=audit,
            )  # fmt: skip

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
        """Materialize a Python model's result (Arrow table/reader, DuckDB relation, pandas,
        polars) atomically."""
        from headwater.engines.duckdb.stream import register, unregister

        cur = self.cursor()
        if isinstance(data, duckdb.DuckDBPyRelation):
            data = data.to_arrow_table()
        register(cur, "_hw_python_result", data)
        try:
            count = self.materialize_sql(
                schema,
                table,
                "select * from _hw_python_result",
                materialized="table" if materialized == "view" else materialized,
                unique_key=unique_key,
                audit=audit,
            )
        finally:
            unregister(cur, "_hw_python_result")
        return count or 0

    def relation(self, schema: str, table: str) -> duckdb.DuckDBPyRelation:
        return self.cursor().sql(f"select * from {qualified(schema, table)}")

    def relation_of(self, sql: str) -> duckdb.DuckDBPyRelation:
        return self.cursor().sql(sql)

    def to_arrow(self, relation: Any) -> pa.Table:
        return relation.to_arrow_table()

    # -- exports and syncs ------------------------------------------------------------------

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
        """The table's rows as files by ``COPY ... TO`` (see :mod:`.files_out`)."""
        from headwater.engines.duckdb.files_out import table_rows

        return table_rows(
            self.cursor(), schema, table, folder, fmt=fmt, partition_by=partition_by,
            interval=interval, interval_column=interval_column, tz=tz,
        )  # fmt: skip

    def open_bucket(self, url: str, access: Any) -> None:
        """Let this warehouse read and write under ``url`` (``s3://bucket/...``) with
        ``access``, an ``s3://`` connection (``sources.storage.S3Access``): a secret
        scoped to the bucket in httpfs (see :mod:`.object_store`)."""
        from headwater.engines.duckdb.object_store import use_bucket

        use_bucket(self.cursor(), url, access)

    def record_export(self, load_id: int, asset: str, run_id: str | None, rows: int) -> None:
        """The export's line in ``_headwater.loads`` (:mod:`headwater.engines.export_record`)."""
        record_export(self.cursor(), load_id, asset, run_id, rows)

    def sync_read(
        self, *, sync: str, model: str, key: list[str], columns: list[str], deletes: bool
    ) -> AbstractContextManager[SyncRead]:
        """A sync's changes on this thread's cursor (see :mod:`.sync_diff`)."""
        from headwater.engines.duckdb.sync_diff import sync_read

        return sync_read(
            self.cursor(), sync=sync, model=model, key=key, columns=columns, deletes=deletes
        )
