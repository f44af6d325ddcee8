"""PostgreSQL warehouse: atomic materializations and loads whose state commits with the data.

Threads: every thread gets its own connection, so steps run in parallel; each load or
rebuild is one transaction on it. Readers never wait for a writer (MVCC): a rebuild of a
table whose columns did not change deletes and inserts its rows in one transaction, so a
query during a run answers at once, from the last committed version. A process killed at
any instant leaves only committed transactions behind (the server's WAL).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import headwater.engines.postgres.errors  # noqa: F401  (registers psycopg's exceptions)
from headwater.engines import catalog
from headwater.engines.base import METADATA_PREFIX, STATE_SCHEMA, LoadRequest, LoadResult
from headwater.engines.export_record import record_export
from headwater.engines.postgres import planning
from headwater.engines.postgres.capabilities import CAPABILITIES
from headwater.engines.postgres.connection import PgCursor, connect, describe
from headwater.engines.postgres.contract import FITS_DDL
from headwater.engines.postgres.object_store import BucketAccess
from headwater.engines.postgres.project_sql import ProjectCursor
from headwater.engines.postgres.sql import column_list, fingerprint_query, ident, qualified

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

    from headwater.engines.postgres.sync_diff import PgSyncRead
    from headwater.engines.protocol import BatchStream

_STATE_DDL = (
    f"""
create schema if not exists {STATE_SCHEMA};
create table if not exists {STATE_SCHEMA}.state (
    asset text primary key, state text, load_id bigint, updated_at timestamptz);
create table if not exists {STATE_SCHEMA}.loads (
    load_id bigint primary key, asset text, rows_read bigint, rows_written bigint,
    rows_rejected bigint, loaded_at timestamptz, run_id text, rows_superseded bigint,
    schema_changes text);
create table if not exists {STATE_SCHEMA}.rejected_rows (
    load_id bigint, asset text, file text, line bigint, "column" text,
    error text, raw text);
create or replace function {STATE_SCHEMA}.getvariable(name text) returns timestamptz
    language sql stable as $$ select current_setting('headwater.' || name)::timestamptz $$;
"""
    + FITS_DDL
)


T = TypeVar("T")


class PostgresEngine:
    """The warehouse in the PostgreSQL database at ``url`` (``postgresql://...``)."""

    capabilities = CAPABILITIES

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self._url = url  # holds the password: never logged (see describe())
        self.where = describe(url)
        self.read_only = read_only
        self._local = threading.local()
        self._cursors: dict[int, PgCursor] = {}
        self._lock = threading.Lock()
        self._last_load_id: int | None = None
        self._buckets: dict[str, BucketAccess] = {}  # bucket -> its s3:// connection
        self._pg()  # a wrong URL fails here, in one line

    def __repr__(self) -> str:
        return f"PostgresEngine({self.where!r})"

    # -- connections -------------------------------------------------------------------------

    def cursor(self) -> ProjectCursor:
        """This thread's cursor for the project's SQL (:mod:`.project_sql`)."""
        return ProjectCursor(self._pg())

    def _pg(self) -> PgCursor:
        """This thread's cursor for PostgreSQL's own SQL (its own connection)."""
        cur: PgCursor | None = getattr(self._local, "cursor", None)
        if cur is None or cur.connection.closed:
            cur = PgCursor(self._connect())
            self._local.cursor = cur
            with self._lock:
                self._cursors[threading.get_ident()] = cur
        return cur

    def _connect(self) -> psycopg.Connection[Any]:
        """A new autocommit connection set up as every warehouse connection is."""
        conn = connect(self._url)
        # project SQL calls getvariable('interval_start') as DuckDB does: ours is found
        # after the user's schemas, never before them
        conn.execute(f'set search_path = "$user", public, {STATE_SCHEMA}')
        conn.execute(planning.SESSION)  # no nested loops on tables without indexes
        if self.read_only:
            conn.execute("set default_transaction_read_only = on")
        return conn

    def interrupt(self, thread_id: int | None = None) -> None:
        """Cancel the statement running on ``thread_id``'s connection (all if None):
        the server's cancel request, as ``pg_cancel_backend`` does."""
        with self._lock:
            if thread_id is None:
                targets = list(self._cursors.values())
            else:
                targets = [self._cursors[thread_id]] if thread_id in self._cursors else []
        for cur in targets:
            cur.connection.cancel_safe()

    def close(self) -> None:
        with self._lock:
            for cur in self._cursors.values():
                cur.close()
            self._cursors.clear()
        self._local = threading.local()

    def execute(self, sql: str, params: list[Any] | None = None) -> ProjectCursor:
        """Run one statement of the project's SQL (DuckDB's dialect, rendered)."""
        return self.cursor().execute(sql, params)

    def query_arrow(self, sql: str) -> pa.Table:
        """The answer of ``sql``, already in PostgreSQL's dialect, as Arrow (a correlated
        subquery run as a join: :mod:`.decorrelate`)."""
        from headwater.engines.postgres.decorrelate import decorrelated

        cur = self._pg()
        return cur.execute(decorrelated(cur, sql)).fetch_arrow()

    @contextmanager
    def transaction(self) -> Iterator[ProjectCursor]:
        """This thread's cursor in one transaction: committed at the end, rolled back when
        the block raises."""
        with self._pg().transaction() as cur:
            yield ProjectCursor(cur)

    def change_quarantine(self, asset: str, edit: Callable[[Any], T]) -> T:
        """``edit`` in one transaction (see the Engine protocol)."""
        with self.transaction() as cur:
            return edit(cur)

    def read_query(
        self, sql: str, params: Sequence[Any] | None = None, *, limit: int | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """One read-only statement in a READ ONLY transaction (see :mod:`.read`)."""
        from headwater.engines.postgres.read import read_query_on

        return read_query_on(self._pg(), sql, list(params) if params else None, limit=limit)

    def export_batches(self, sql: str, *, limit: int | None = None) -> BatchStream:
        """As :meth:`read_query`, its answer as Arrow batches from a server-side cursor on a
        connection of the stream's own (:class:`.read.PgBatchStream`)."""
        from headwater.engines.postgres.read import stream_query

        return stream_query(self._connect(), sql, limit=limit)

    # -- catalog ----------------------------------------------------------------------------

    def ensure_schemas(self, schemas: set[str]) -> None:
        """Create schemas and Headwater's state tables; call once before parallel work."""
        cur = self._pg()
        with cur.transaction():
            # two processes creating the same schema at once collide in the catalog
            cur.execute("select pg_advisory_xact_lock(hashtext('headwater.ensure_schemas'))")
            cur.execute(_STATE_DDL)
            for schema in sorted(schemas):
                cur.execute(f"create schema if not exists {ident(schema)}")

    def exists(self, schema: str, table: str) -> bool:
        return catalog.table_exists(self._pg(), schema, table)

    def columns(self, schema: str, table: str) -> dict[str, str]:
        return catalog.table_columns(self._pg(), schema, table)

    def tables(self) -> list[tuple[str, str, str]]:
        """(schema, name, kind) of every user table and view."""
        rows = (
            self._pg()
            .execute(
                "select table_schema, table_name, table_type from information_schema.tables "
                "where table_schema not in ('information_schema', 'pg_catalog') "
                "and table_schema not like 'pg_temp%' and table_schema not like 'pg_toast%' "
                "order by 1, 2"
            )
            .fetchall()
        )
        return [(s, t, k) for s, t, k in rows]

    def fingerprint(self, schema: str, table: str) -> str:
        """Order-independent content hash of a table, load metadata columns excluded."""
        cols = [c for c in self.columns(schema, table) if not c.startswith(METADATA_PREFIX)]
        row = (
            self._pg()
            .execute(fingerprint_query(qualified(schema, table), column_list(cols)))
            .fetchone()
        )
        assert row is not None
        return f"{row[0]}:{row[1]}"

    # -- state ------------------------------------------------------------------------------

    def read_state(self, asset: str) -> dict[str, Any]:
        row = (
            self._pg()
            .execute(f"select state from {STATE_SCHEMA}.state where asset = ?", [asset])
            .fetchone()
        )
        return json.loads(row[0]) if row and row[0] else {}

    def new_load_id(self) -> int:
        """A new load's id: microseconds since 1970 (UTC), raised past the last id this
        warehouse recorded or this engine handed out (unique, increasing). Call after
        :meth:`ensure_schemas`."""
        cur = self._pg()
        with self._lock:
            if self._last_load_id is None:
                row = cur.execute(f"select max(load_id) from {STATE_SCHEMA}.loads").fetchone()
                self._last_load_id = int(row[0]) if row and row[0] is not None else 0
            self._last_load_id = max(time.time_ns() // 1000, self._last_load_id + 1)
            return self._last_load_id

    # -- loads and materializations ---------------------------------------------------------

    def load(self, asset: str, request: LoadRequest) -> LoadResult:
        """Write one load and its state atomically (see :mod:`.loads`); a file scan reads
        the S3 buckets given to :meth:`open_bucket`."""
        from headwater.engines.postgres.loads import run_load

        return run_load(self._pg(), asset, request, self._buckets)

    def scan_columns(self, probe_sql: str) -> list[str]:
        """A file scan's columns, read where loads scan files: a local DuckDB (:mod:`.files`)."""
        from headwater.engines.postgres.files import local_scan

        with local_scan("file source", self._buckets) as scan:
            return scan.columns(probe_sql)

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
        """Build a model from its SELECT (PostgreSQL's dialect); the row count (None for
        views). See :mod:`.materialize`."""
        from headwater.engines.postgres.materialize import materialize

        return materialize(
            self._pg(), schema, table, sql, materialized=materialized,
            unique_key=unique_key or [], time_column=time_column, lookback=lookback,
            audit=audit,
        )  # fmt: skip

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
        """A partitioned model: ``interval``'s rows replaced in one transaction, or the whole
        table (see :mod:`.partitions`)."""
        from headwater.engines.postgres.partitions import build_partition

        return build_partition(
            self._pg(), schema, table, sql, partition_by=partition_by,
            interval=interval, tz=tz, audit=audit,
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
        """A Python model's result (Arrow table or reader, pandas, polars), written through
        binary COPY into a temp table and materialized from it in one transaction."""
        from headwater.engines.frames import as_arrow
        from headwater.engines.postgres.materialize import materialize_from
        from headwater.engines.postgres.stream import copy_into

        cur = self._pg()
        with cur.transaction():
            cur.execute("drop table if exists _hw_python_result")
            copy_into(cur, "_hw_python_result", as_arrow(data), temp=True)
            count = materialize_from(
                cur, schema, table, "_hw_python_result",
                materialized="table" if materialized == "view" else materialized,
                unique_key=unique_key or [], audit=audit,
            )  # fmt: skip
            cur.execute("drop table _hw_python_result")
        return count or 0

    def relation(self, schema: str, table: str) -> pa.Table:
        """No lazy relation of its own (``relation_type`` is empty): the table as Arrow."""
        return self.query_arrow(f"select * from {qualified(schema, table)}")

    def relation_of(self, sql: str) -> pa.Table:
        """A task's query (``ctx.query``: project SQL, rendered here) as Arrow."""
        from headwater.engines.dialects import render

        return self.query_arrow(render(sql, CAPABILITIES.dialect))

    def to_arrow(self, relation: Any) -> pa.Table:
        return relation  # an Arrow table already (relation and relation_of)

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
        """The table's rows streamed out and written by pyarrow, locally or to a bucket
        given to :meth:`open_bucket` (see :mod:`.files_out`)."""
        from headwater.engines.postgres.files_out import table_rows

        bucket = folder.removeprefix("s3://").partition("/")[0]
        access = self._buckets.get(bucket) if folder.startswith("s3://") else None
        return table_rows(
            self._pg(), schema, table, folder, fmt=fmt, partition_by=partition_by,
            interval=interval, interval_column=interval_column, tz=tz,
            access=access,
        )  # fmt: skip

    def open_bucket(self, url: str, access: BucketAccess) -> None:
        """Let exports write and file sources read under ``url`` (``s3://bucket/...``) with
        ``access``, the project's ``s3://`` connection: exports upload with its client,
        each load's scan gives its DuckDB the bucket's secret (:mod:`.files`)."""
        self._buckets[url.removeprefix("s3://").partition("/")[0]] = access

    def record_export(self, load_id: int, asset: str, run_id: str | None, rows: int) -> None:
        """The export's line in ``_headwater.loads`` (:mod:`headwater.engines.export_record`)."""
        record_export(self._pg(), load_id, asset, run_id, rows)

    def sync_read(
        self, *, sync: str, model: str, key: list[str], columns: list[str], deletes: bool
    ) -> AbstractContextManager[PgSyncRead]:
        """A sync's changes in one transaction of this thread's connection (:mod:`.sync_diff`)."""
        from headwater.engines.postgres.sync_diff import sync_read

        return sync_read(
            self._pg(), sync=sync, model=model, key=key, columns=columns, deletes=deletes
        )
