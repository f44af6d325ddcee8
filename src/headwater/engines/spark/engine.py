"""Apache Spark as the warehouse: Parquet tables in a Hive catalog.

Every table Headwater writes is a Hive view over one Parquet version
(:mod:`.versions`): rebuilds and loads write a new version and switch the view, with a
source's load state in the view's properties, so readers and crashes see the old table or
the new one. Sources land through Arrow (:mod:`.loads`), models run as Spark SQL
(:mod:`.materialize`), checks run on Spark through :class:`.cursor.SparkCursor`.

Threads: one SparkSession per process, shared by every thread; statements of different
threads are serialised by the engine's lock (Spark parallelises each statement itself).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import headwater.engines.spark.errors  # noqa: F401  (registers Spark's exceptions)
from headwater.engines.base import METADATA_PREFIX, STATE_SCHEMA, LoadRequest, LoadResult
from headwater.engines.spark import quarantine, versions
from headwater.engines.spark.capabilities import CAPABILITIES
from headwater.engines.spark.cursor import SparkCursor, to_spark
from headwater.engines.spark.session import SparkOptions, is_connect, spark_session
from headwater.errors import EngineError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame

    from headwater.engines.protocol import BatchStream

T = TypeVar("T")

_STATE_DDL = (
    f"create table if not exists {STATE_SCHEMA}.loads (load_id bigint, asset string, "
    "rows_read bigint, rows_written bigint, rows_rejected bigint, loaded_at timestamp, "
    "run_id string, rows_superseded bigint, schema_changes string) using parquet",
    f"create table if not exists {STATE_SCHEMA}.rejected_rows (load_id bigint, asset string, "
    "file string, line bigint, `column` string, error string, raw string) using parquet",
)


class SparkEngine:
    """The Spark warehouse described by ``options`` (its session started on first open)."""

    capabilities = CAPABILITIES

    def __init__(self, options: SparkOptions) -> None:
        self.options = options
        self._spark = spark_session(options)
        # the session's warehouse, which an earlier engine of this process (or the Spark
        # Connect server) set: loads write their versions' Parquet files there from here
        where = str(self._spark.conf.get("spark.sql.warehouse.dir") or options.warehouse)
        self.warehouse = _local_folder(where, options.master)
        self._lock = threading.RLock()
        self._last_load_id: int | None = None
        self._assets: dict[str, tuple[str, str]] = {}  # asset -> its table, once loaded

    @property
    def spark(self) -> Any:
        """The SparkSession (tests and Python models that want Spark itself)."""
        return self._spark

    # -- connections -------------------------------------------------------------------------

    def cursor(self) -> SparkCursor:
        return SparkCursor(self._spark)

    def close(self) -> None:
        """Nothing to release per engine: the session lives as long as the process."""

    def execute(self, sql: str, params: list[Any] | None = None) -> SparkCursor:
        """``sql`` in the project's dialect (see :mod:`.cursor`)."""
        with self._lock:
            return self.cursor().execute(sql, params)

    def query_arrow(self, sql: str) -> pa.Table:
        """Spark SQL's whole answer as Arrow."""
        with self._lock:
            return self._spark.sql(sql).toArrow()

    def transaction(self) -> AbstractContextManager[SparkCursor]:
        """Refused: Spark has no multi-statement transactions (``capabilities.transactions``
        is False; loads and rebuilds switch versions instead)."""
        return _no_transaction()

    def interrupt(self, thread_id: int | None = None) -> None:
        """Cancel Spark's running jobs (one session: every thread's statement)."""
        if is_connect(self._spark):  # a Connect client has no SparkContext
            self._spark.interruptAll()
        else:
            self._spark.sparkContext.cancelAllJobs()

    def read_query(
        self, sql: str, params: Sequence[Any] | None = None, *, limit: int | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """One read-only SELECT in the project's dialect: columns and rows."""
        frame = self._read_frame(sql, params, limit)
        with self._lock:
            return frame.columns, [tuple(r) for r in frame.collect()]

    def export_batches(self, sql: str, *, limit: int | None = None) -> BatchStream:
        """As :meth:`read_query`, as Arrow batches."""
        with self._lock:
            table = self._read_frame(sql, None, limit).toArrow()
        return _Batches(table)

    def _read_frame(self, sql: str, params: Sequence[Any] | None, limit: int | None) -> DataFrame:
        import sqlglot
        from sqlglot import exp

        from headwater.project.sql_errors import PROJECT_DIALECT

        try:
            tree = sqlglot.parse_one(sql, dialect=PROJECT_DIALECT)
        except sqlglot.errors.ParseError as exc:
            raise EngineError(f"query: {str(exc).splitlines()[0]}") from None
        if not isinstance(tree, exp.Query):
            raise EngineError("query: only a SELECT may run here")
        frame = self._spark.sql(to_spark(sql, list(params) if params else None))
        return frame.limit(limit) if limit is not None else frame

    # -- catalog ----------------------------------------------------------------------------

    def ensure_schemas(self, schemas: set[str]) -> None:
        with self._lock:
            for schema in sorted(schemas | {STATE_SCHEMA, versions.VERSIONS}):
                self._spark.sql(f"create database if not exists {versions.ident(schema)}")
            for ddl in _STATE_DDL:
                self._spark.sql(ddl)
            # a release killed between its two switches: its quarantine version goes live
            quarantine.roll_forward_all(self._spark)

    def exists(self, schema: str, table: str) -> bool:
        return bool(self._spark.catalog.tableExists(f"{schema}.{table}"))

    def columns(self, schema: str, table: str) -> dict[str, str]:
        with self._lock:
            rows = self._spark.sql(f"describe {versions.qualified(schema, table)}").collect()
        out: dict[str, str] = {}
        for name, kind, *_ in rows:
            if not name or name.startswith("#"):  # partition information follows
                break
            out[name] = kind
        return out

    def tables(self) -> list[tuple[str, str, str]]:
        """(schema, name, kind) of every user table and view; versions and Headwater's own
        databases are hidden, a versioned view is a ``BASE TABLE``."""
        out = []
        with self._lock:
            for db in self._spark.catalog.listDatabases():
                if db.name in (versions.VERSIONS, "default"):
                    continue
                for t in self._spark.catalog.listTables(db.name):
                    if t.isTemporary:
                        continue
                    pub = versions.published(self._spark, db.name, t.name)
                    kind = "BASE TABLE" if pub and pub.version else t.tableType
                    out.append((db.name, t.name, "VIEW" if kind == "VIEW" else "BASE TABLE"))
        return sorted(out)

    def fingerprint(self, schema: str, table: str) -> str:
        """Order-independent content hash (load metadata columns excluded)."""
        cols = [c for c in self.columns(schema, table) if not c.startswith(METADATA_PREFIX)]
        listed = ", ".join(versions.ident(c) for c in cols)
        sql = (
            f"select count(*), coalesce(sum(cast(xxhash64({listed}) as decimal(38, 0))), 0) "
            f"from {versions.qualified(schema, table)}"
        )
        with self._lock:
            row = self._spark.sql(sql).first()
        assert row is not None
        return f"{row[0]}:{row[1]}"

    # -- state ------------------------------------------------------------------------------

    def read_state(self, asset: str) -> dict[str, Any]:
        """The state published with the asset's table (a property of its view)."""
        with self._lock:
            for schema, table in self._candidates(asset):
                pub = versions.published(self._spark, schema, table)
                if pub is not None and pub.asset == asset:
                    self._assets[asset] = (schema, table)
                    return pub.state
        return {}

    def _candidates(self, asset: str) -> Iterator[tuple[str, str]]:
        """Where the asset's table may be: where it was loaded, its name, then every view."""
        if asset in self._assets:
            yield self._assets[asset]
        if "." in asset:
            schema, table = asset.split(".", 1)
            yield schema, table
        for schema, table, kind in self.tables():
            if kind == "BASE TABLE":
                yield schema, table

    def new_load_id(self) -> int:
        """Microseconds since 1970 (UTC), raised past the last id recorded: unique, rising."""
        with self._lock:
            if self._last_load_id is None:
                row = self._spark.sql(f"select max(load_id) from {STATE_SCHEMA}.loads").first()
                self._last_load_id = int(row[0]) if row and row[0] is not None else 0
            self._last_load_id = max(time.time_ns() // 1000, self._last_load_id + 1)
            return self._last_load_id

    def change_quarantine(self, asset: str, edit: Callable[[Any], T]) -> T:
        """``edit`` (DuckDB statements on a cursor, e.g. the quality module's discard) run
        on a copy of ``quarantine.<table>``, published as its new version in one switch when
        rows changed; what ``edit`` returns. Stands in for a transaction, which Spark has
        not (see :func:`.quarantine.change`)."""
        with self._lock:
            return quarantine.change(self._spark, self.warehouse, asset, edit, self.new_load_id())

    # -- loads and materializations ---------------------------------------------------------

    def load(self, asset: str, request: LoadRequest) -> LoadResult:
        """See :mod:`headwater.engines.spark.loads`."""
        from headwater.engines.spark.loads import spark_load

        with self._lock:
            self._assets[asset] = (request.schema, request.table)
            return spark_load(self._spark, self.warehouse, asset, request)

    def scan_columns(self, probe_sql: str) -> list[str]:
        """A file scan's columns, read in a throwaway DuckDB: loads scan files in one too."""
        from headwater.engines.duckdb.scan_columns import scan_columns

        return scan_columns(probe_sql)

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
        """A model from its SELECT, already Spark SQL (see :mod:`.materialize`)."""
        from headwater.engines.spark.materialize import materialize

        with self._lock:
            return materialize(
                self._spark, self.warehouse, schema, table, sql, materialized=materialized,
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
        """A partitioned model: ``interval``'s rows replaced in a new version published in
        one switch, or the whole table (see :mod:`.partitions`)."""
        from headwater.engines.spark.partitions import build_partition

        with self._lock:
            return build_partition(
                self._spark, self.warehouse, schema, table, sql, partition_by=partition_by,
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
        """A Python model's result (Arrow table or reader, pandas, polars, Spark DataFrame),
        as a table (a view becomes a table: there is no query to keep)."""
        with self._lock:
            frame = self._frame_of(data)
            frame.createOrReplaceTempView("_hw_python_result")
            count = self.materialize_sql(
                schema, table, "select * from _hw_python_result",
                materialized="table" if materialized == "view" else materialized,
                unique_key=unique_key, audit=audit,
            )  # fmt: skip
        return count or 0

    def _frame_of(self, data: Any) -> DataFrame:
        from pyspark.sql import DataFrame

        if isinstance(data, DataFrame):
            return data
        import pyarrow as pa

        if isinstance(data, pa.RecordBatchReader):
            data = data.read_all()
        elif type(data).__module__.split(".")[0] == "polars":
            data = data.to_arrow()
        elif type(data).__module__.split(".")[0] == "pandas":
            data = pa.Table.from_pandas(data, preserve_index=False)
        if not isinstance(data, pa.Table):
            raise EngineError(f"cannot write a {type(data).__name__} to a Spark table")
        return self._spark.createDataFrame(data)

    def relation(self, schema: str, table: str) -> DataFrame:
        return self._spark.table(versions.qualified(schema, table))

    def relation_of(self, sql: str) -> DataFrame:
        """A query in the project's dialect, as a lazy Spark DataFrame."""
        return self._spark.sql(to_spark(sql))

    def to_arrow(self, relation: Any) -> pa.Table:
        return relation.toArrow()

    # -- exports and syncs: not on Spark (capabilities files_out, sync_diff are False) ------

    def export_table(self, schema: str, table: str, folder: str, **_: Any) -> tuple[int, list[str]]:
        raise EngineError("exports need the engine capability files_out; spark has not")

    def record_export(self, load_id: int, asset: str, run_id: str | None, rows: int) -> None:
        raise EngineError("exports need the engine capability files_out; spark has not")

    def sync_read(self, **_: Any) -> AbstractContextManager[Any]:
        raise EngineError("syncs need the engine capability sync_diff; spark has not")


def _local_folder(where: str, master: str) -> Path:
    """The warehouse directory ``spark.sql.warehouse.dir`` names, as a local path; one line
    naming the master when it is elsewhere (``hdfs://``, ``s3a://``): the loads' Parquet
    files are written by this process, so it must see the folder."""
    from urllib.parse import unquote, urlparse

    url = urlparse(where)
    if url.scheme not in ("", "file"):
        raise EngineError(
            f"spark ({master}): the warehouse {where} is not a local folder; loads write "
            "their Parquet files from this machine, which must see it at the same path"
        )
    return Path(unquote(url.path) if url.scheme else where).resolve()


@contextmanager
def _no_transaction() -> Iterator[SparkCursor]:
    raise EngineError("the spark engine has no multi-statement transactions")
    yield  # pragma: no cover  (a generator: the context manager's shape)


class _Batches:
    """An Arrow table as a :class:`~headwater.engines.protocol.BatchStream`."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    @property
    def schema(self) -> pa.Schema:
        return self._table.schema

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return iter(self._table.to_batches())

    def close(self) -> None:
        self._table = self._table.schema.empty_table()
