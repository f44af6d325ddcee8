"""The PostgreSQL connector: ADBC binary COPY into Arrow, in parallel ranges when large."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import replace
from typing import Any

import pyarrow as pa

from headwater.errors import ConnectionError_, HeadwaterError, SourceError
from headwater.sources.connector import ConnectorCapabilities, TableRead
from headwater.sources.interval import postgres_params, postgres_query, uses_interval
from headwater.sources.postgres import catalog, native, ranges
from headwater.sources.postgres.catalog import PlannedRead, Relation
from headwater.sources.postgres.errors import Address, connect_error, read_error
from headwater.sources.postgres.native import NativeRead
from headwater.sources.postgres.pgtypes import convert, ident, literal
from headwater.sources.postgres.probe import BackgroundQuery
from headwater.sources.postgres.stream import Stream

CAPABILITIES = ConnectorCapabilities(
    name="postgres",
    incremental_cursor=True,
    custom_query=True,
    list_tables=True,
    parallel_ranges=True,
)

# every session: values and literals never depend on the server's or the role's settings
SESSION = (
    "SET TimeZone TO 'UTC'",
    "SET DateStyle TO 'ISO, YMD'",
    "SET IntervalStyle TO 'postgres'",
    "SET standard_conforming_strings TO on",
    "SET extra_float_digits TO 3",
)
_INTEGER_TYPES = ("smallint", "integer", "bigint")
_STORED_KINDS = ("r", "m")  # tables and materialized views: they have blocks to split


def _default_workers() -> int:
    """``$HEADWATER_PG_PARALLEL`` if set, else one connection per core, at most 4."""
    setting = os.environ.get("HEADWATER_PG_PARALLEL", "")
    if setting.isdigit():
        return max(1, int(setting))
    return max(1, min(4, os.cpu_count() or 1))


def _driver() -> Any:
    try:
        import adbc_driver_postgresql.dbapi as dbapi
    except ImportError:  # pragma: no cover - the postgres extra is not installed
        return None
    return dbapi


class PostgresConnector:
    """Streams PostgreSQL tables and queries as Arrow batches (see the package docstring)."""

    capabilities = CAPABILITIES
    #: Tables at least this large (bytes on disk) are read in parallel ranges.
    parallel_min_bytes: int = 128 << 20
    #: Connections reading one large table at once.
    parallel_workers: int = _default_workers()
    #: Ranges per worker: more, smaller ranges balance uneven ones.
    ranges_per_worker: int = 4
    #: How to split: "auto" (block ranges on PostgreSQL 14+, else the integer primary key),
    #: "blocks", "key", or "none".
    split: str = "auto"

    def __init__(self, url: str, *, name: str) -> None:
        self.name = name
        self.address = Address.parse(url, name)
        self._dbapi = _driver()
        if self._dbapi is None:
            raise ConnectionError_(
                f"connection {name!r}: PostgreSQL sources need the ADBC driver: "
                "pip install 'headwater[postgres]'"
            )
        self._extra: list[Any] = []  # worker connections
        self._lock = threading.Lock()
        self._stream: Stream | None = None
        self._probe: BackgroundQuery | None = None  # a native read's NaN probe
        self._in_transaction = False  # the main connection holds a snapshot transaction
        self._conn = self._connect()
        try:
            self.server_version = int(self._scalar("select current_setting('server_version_num')"))
        except Exception as exc:
            self.close()
            raise connect_error(self.address, exc) from None

    # -- the Connector protocol -----------------------------------------------------

    @property
    def failure(self) -> HeadwaterError | None:
        """The error that stopped the last read (raised inside the warehouse's scan)."""
        return self._stream.failure if self._stream is not None else None

    def close(self) -> None:
        self._finish()
        with self._lock:
            conns, self._extra = [self._conn, *self._extra], []
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()

    def cancel(self) -> None:
        """Stop the running read from another thread (a step's timeout): its consumer
        raises, its queries are cancelled on the server."""
        stream = self._stream
        if stream is not None:
            stream.cancel(SourceError(f"{self.address.label}: the read was cancelled"))
        probe = self._probe
        if probe is not None:
            probe.cancel()

    def tables(self, schema: str = "public") -> list[str]:
        """Tables, views and materialized views of ``schema``."""
        try:
            rows = self._rows(
                "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                f"where n.nspname = {literal(schema)} and c.relkind in ('r','p','v','m','f') "
                "order by 1"
            )
        except Exception as exc:
            raise read_error(self.address, f"schema {schema!r}", exc) from None
        return [r[0] for r in rows]

    def schema(self, table: str) -> pa.Schema:
        """The Arrow schema a read of ``table`` produces."""
        try:
            relation = self._relation(table)
            attrs = catalog.attributes(self._rows, relation)
            plans, _ = catalog.table_plans(self._describe, relation, attrs)
        except HeadwaterError:
            raise
        except Exception as exc:
            raise read_error(self.address, f"table {table!r}", exc) from None
        return pa.schema([p.field for p in plans])

    def read(self, what: TableRead) -> pa.RecordBatchReader:
        where_ = self._what(what)
        try:
            return self._read(what)
        except HeadwaterError:
            raise
        except Exception as exc:
            raise read_error(self.address, where_, exc) from None

    # -- reading --------------------------------------------------------------------

    def _finish(self) -> None:
        """Stop the last read, if any, and end its snapshot transaction."""
        if self._stream is not None:
            self._stream.stop()
        if self._probe is not None:
            self._probe.close()
            self._probe = None
        if self._in_transaction:
            self._in_transaction = False
            with contextlib.suppress(Exception):
                self._execute("ROLLBACK")

    def native_read(self, what: TableRead) -> NativeRead | str:
        """A plan for the warehouse to read ``what`` itself, or why it must come as Arrow
        (see :mod:`headwater.sources.postgres.native`). Checks what :meth:`read` checks:
        the table, its columns, the cursor, permissions."""
        if what.query:
            return "a query is read through Arrow"
        self._finish()
        try:
            read = self._prepare(what)
            plan = native.plan(read, keep_char=what.char_padding == "keep")
            if isinstance(plan, NativeRead) and read.conditions:
                plan = replace(plan, selective=self._selective(read))
        except HeadwaterError:
            raise
        except Exception as exc:
            raise read_error(self.address, self._what(what), exc) from None
        probe = plan.probe_sql() if isinstance(plan, NativeRead) else None
        if probe is not None:  # beside the warehouse's scan, which follows: see .probe
            self._probe = BackgroundQuery(self._connect, probe, native.PROBE_SETUP)
        return plan

    def _selective(self, read: PlannedRead) -> bool:
        """Whether the planner expects ``read``'s window to be a small part of the table."""
        assert read.relation is not None
        cur = self._conn.cursor()
        try:  # EXPLAIN cannot run inside the COPY the driver wraps queries in by default
            cur.adbc_statement.set_options(**{"adbc.postgresql.use_copy": "false"})
            cur.execute(f"explain (format json) {read.sql()}")
            found = cur.fetchone()
        finally:
            cur.close()
        window = json.loads(found[0])[0]["Plan"]["Plan Rows"] if found else 0
        return native.selective(float(window), read.relation.rows_estimate)

    def native_verify(self, plan: NativeRead, what: TableRead, cur: Any, table: str) -> None:
        """Check a native read's loaded rows (``table`` in the warehouse cursor ``cur``)
        against the server: see :meth:`NativeRead.verify`."""
        probe = self._probe  # kept until the end: cancel() must reach it during the wait

        def found() -> list[tuple[Any, ...]]:  # the plan has numeric columns: a probe runs
            assert probe is not None, "native_read starts the probe of numeric columns"
            return probe.rows()

        try:
            plan.verify(lambda sql: cur.execute(sql).fetchall(), table, found)
        except Exception as exc:
            raise self.native_error(what, exc) from None
        finally:
            if probe is not None:
                probe.close()
            self._probe = None

    def native_error(self, what: TableRead, exc: BaseException) -> Exception:
        """The connector's error for ``exc``, raised by the warehouse reading ``what``."""
        return read_error(self.address, self._what(what), exc)

    def _prepare(self, what: TableRead) -> PlannedRead:
        """Plan the columns and the cursor window of ``what``; fail now, not mid-scan."""
        label = self._what(what)
        relation: Relation | None = None
        attrs: list[catalog.Attribute] = []
        trim = what.char_padding == "trim"
        params: tuple[Any, ...] = ()
        if what.query:
            query = what.query.strip().rstrip(";")
            if uses_interval(query):  # bound as $1, $2: never put in the SQL's text
                query, params = postgres_query(query), postgres_params(what.interval)
            source = f"({query}) as q"
            plans, cursor_types = catalog.query_plans(self._describe, source, trim_char=trim)
        else:
            assert what.table is not None
            relation = self._relation(what.table)
            source = relation.qualified
            attrs = catalog.attributes(self._rows, relation)
            plans, cursor_types = catalog.table_plans(
                self._describe, relation, attrs, trim_char=trim
            )
        names = [p.name for p in plans]
        if what.columns:
            missing = [c for c in what.columns if c not in names]
            if missing:
                raise SourceError(
                    f"{self.address.label} {label}: no column {missing[0]!r} "
                    f"(columns: {', '.join(names)})"
                )
            plans = [next(p for p in plans if p.name == c) for c in what.columns]
        bounds: list[tuple[str, str, str]] = []
        if what.cursor:
            if what.cursor not in cursor_types:
                raise SourceError(
                    f"{self.address.label} {label}: cursor column {what.cursor!r} does not "
                    f"exist (columns: {', '.join(names)})"
                )
            if what.since is not None:
                bounds.append((what.cursor, ">=" if what.inclusive else ">", str(what.since)))
            until = getattr(what, "until", None)
            if until is not None:
                bounds.append((what.cursor, "<", str(until)))
        if not plans:
            raise SourceError(f"{self.address.label} {label}: has no columns to read")
        cast = cursor_types.get(what.cursor or "", "")
        conditions = [f"{ident(c)} {op} {literal(v)}::{cast}" for c, op, v in bounds]
        if what.interval_column and what.interval is not None:
            column = what.interval_column
            if column not in names:
                raise SourceError(
                    f"{self.address.label} {label}: interval column {column!r} does not "
                    f"exist (columns: {', '.join(names)})"
                )
            conditions.append(f"{ident(column)} >= $1 and {ident(column)} < $2")
            params = postgres_params(what.interval)
        read = PlannedRead(relation, source, plans, conditions, bounds, attrs, params)
        # fail now, not inside the warehouse's scan: permissions, a bad cursor value...
        self._execute(f"{read.sql()} limit 0", read.params)
        return read

    def _read(self, what: TableRead) -> pa.RecordBatchReader:
        self._finish()
        label = self._what(what)
        read = self._prepare(what)
        plans, sql = read.plans, read.sql
        schema = pa.schema([p.field for p in plans])
        queries, snapshot = [sql()], None
        if read.relation is not None and not read.conditions:
            queries, snapshot = self._ranges(read.relation, sql)
        stream = Stream(
            queries,
            workers=self.parallel_workers if snapshot is not None else 1,
            connect=lambda i: self._worker_connection(i, snapshot),
            release=self._release,
            convert=lambda batch: convert(batch, plans, schema),
            on_error=lambda exc: read_error(self.address, label, exc, plans),
            params=read.params,
        )
        self._stream = stream
        return pa.RecordBatchReader.from_batches(schema, stream.batches())

    def _ranges(self, relation: Relation, sql: Any) -> tuple[list[str], str | None]:
        """Queries over disjoint ranges of ``relation`` and the snapshot they share."""
        split = self.split
        if split == "auto":
            split = "blocks" if self.server_version >= 140000 else "key"
        if (
            split == "none"
            or self.parallel_workers < 2
            or relation.kind not in _STORED_KINDS
            or relation.size < self.parallel_min_bytes
        ):
            return [sql()], None
        # one snapshot for every range: together they read the table exactly once
        self._execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        self._in_transaction = True
        try:
            snapshot = str(self._scalar("select pg_export_snapshot()"))
        except Exception:  # e.g. a standby that cannot export: read on one connection
            self._finish()
            return [sql()], None
        count = self.parallel_workers * self.ranges_per_worker
        bounds = None
        if split == "blocks":
            bounds = self._block_bounds(relation, count)
        elif split == "key":
            bounds = self._key_bounds(relation, count)
        if not bounds:
            self._finish()
            return [sql()], None
        return [sql(b) for b in bounds], snapshot

    def _block_bounds(self, relation: Relation, count: int) -> list[str]:
        block = int(self._scalar("select current_setting('block_size')::int"))
        return ranges.block_bounds(relation.size, block, count)

    def _key_bounds(self, relation: Relation, count: int) -> list[str]:
        rows = self._rows(
            "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_index i "
            "join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0] "
            f"where i.indrelid = {relation.oid} and i.indisprimary"
        )
        if not rows or rows[0][1] not in _INTEGER_TYPES:
            return []
        key = ident(rows[0][0])
        lo, hi = self._rows(f"select min({key}), max({key}) from {relation.qualified}")[0]
        return [] if lo is None else ranges.key_bounds(key, int(lo), int(hi), count)

    # -- planning -------------------------------------------------------------------

    def _relation(self, table: str) -> Relation:
        found = catalog.relation(self._rows, table)
        if found is None:
            schema = table.rpartition(".")[0]
            where = f"schema {schema!r}" if schema else "the search path"
            listed = self.tables(schema or "public")
            more = ", ..." if len(listed) > 20 else ""
            raise SourceError(
                f"{self.address.label} table {table!r}: does not exist in {where} "
                f"(tables in {schema or 'public'}: {', '.join(listed[:20]) or 'none'}{more})"
            )
        return found

    def _describe(self, sql: str) -> pa.Schema:
        cur = self._conn.cursor()
        try:
            schema: pa.Schema = cur.adbc_execute_schema(sql)
            return schema
        finally:
            cur.close()

    # -- connections ----------------------------------------------------------------

    def _connect(self) -> Any:
        try:
            conn = self._dbapi.connect(self.address.uri, autocommit=True)
        except Exception as exc:
            raise connect_error(self.address, exc) from None
        try:
            cur = conn.cursor()
            for statement in SESSION:
                cur.execute(statement)
            cur.close()
        except Exception as exc:
            with contextlib.suppress(Exception):
                conn.close()
            raise connect_error(self.address, exc) from None
        return conn

    def _worker_connection(self, number: int, snapshot: str | None) -> Any:
        if number == 0:  # the main connection (holding the snapshot, if any)
            return self._conn
        conn = self._connect()
        with self._lock:
            self._extra.append(conn)
        cur = conn.cursor()
        cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cur.execute(f"SET TRANSACTION SNAPSHOT {literal(snapshot or '')}")
        cur.close()
        return conn

    def _release(self, number: int, conn: Any) -> None:
        """A worker is done with its connection: close it, unless it is the main one."""
        if number == 0:
            return
        with self._lock:
            if conn in self._extra:
                self._extra.remove(conn)
        conn.close()

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        cur = self._conn.cursor()
        try:
            cur.execute(sql, params or None)
            if cur.description:
                cur.fetchall()
        finally:
            cur.close()

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        cur = self._conn.cursor()
        try:
            cur.execute(sql)
            return list(cur.fetchall())
        finally:
            cur.close()

    def _scalar(self, sql: str) -> Any:
        rows = self._rows(sql)
        return rows[0][0] if rows else None

    def _what(self, what: TableRead) -> str:
        return "query" if what.query else f"table {what.table!r}"
