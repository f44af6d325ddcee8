"""The engine contract shared by every warehouse backend."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

# the protocols, re-exported: callers import them from here with the data types
from headwater.engines.protocol import Cursor as Cursor
from headwater.engines.protocol import Engine as Engine

if TYPE_CHECKING:  # pyarrow is imported where batches are made, not by every run
    import pyarrow as pa

    from headwater.project.sql_errors import SqlValidator, SyntaxProblem

WriteDisposition = Literal["append", "replace", "merge", "scd2"]
Contract = Literal["evolve", "freeze", "discard_row", "discard_value"]

#: Every loaded row's load: a BIGINT, see ``Engine.new_load_id``. An integer, not a text id,
#: because DuckDB appends a constant string row by row (about 170 ns a row: 1.3 s of a
#: 7.7M-row CSV load) and a constant integer almost for free.
LOAD_ID = "_hw_load_id"
LOADED_AT = "_hw_loaded_at"
FILE = "_hw_file"
VALID_FROM = "_hw_valid_from"  # scd2 history
VALID_TO = "_hw_valid_to"
METADATA_PREFIX = "_hw_"
STATE_SCHEMA = "_headwater"


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do, as data (dlt-style): callers read these fields, never the
    engine's name. A feature a project uses (a partitioned model, a quarantine check, a
    merge or scd2 write, an export, a sync) is refused before a run starts when its field
    is False (:mod:`headwater.runtime.engine_support`); the other fields choose how a
    caller or the engine itself does a thing."""

    dialect: str  # sqlglot's name of the SQL it runs; projects are written in DuckDB's
    transactional_ddl: bool  # CREATE/DROP inside a transaction, invisible until COMMIT
    native_file_scan: frozenset[str]  # file formats it reads itself ("csv", "jsonl", "parquet")
    merge: bool  # rows updated by key: sources written with write = "merge" or "scd2"
    concurrent_writers: bool  # several threads may write different tables at once
    interruptible: bool  # a running statement can be cancelled from another thread
    # source databases it reads itself, faster than through Arrow ("postgres")
    database_scan: frozenset[str] = frozenset()
    # several statements commit or roll back together (loads and rebuilds use one); an
    # engine without them replaces a table by writing it aside and switching to it
    transactions: bool = True
    # the engine's own relation type, "module.Class" (what ``Engine.relation`` returns and
    # a Python model may annotate its parameters with); "" when it has none
    relation_type: str = ""
    # partitioned models (``partition_by`` + ``grain``: one interval replaced alone)
    partitioned_models: bool = True
    # ``on_fail = "quarantine"``: failing rows moved to ``quarantine.<table>`` with the load
    quarantine: bool = True
    # a table's rows written to Parquet, CSV or JSON-lines files (``Engine.export_table``:
    # ``[exports.x]``); an engine without it refuses an export naming this capability
    files_out: bool = False
    # reads and writes ``s3://`` locations itself (DuckDB's httpfs): exports to a bucket
    object_store: bool = False
    # a sync's per-key changes computed on the warehouse (``Engine.sync_read``: ``[syncs.x]``)
    sync_diff: bool = False
    # one process at a time may write the warehouse, and while it does no other process may
    # read it (DuckDB's file lock): a server holding it sees every write, so its response
    # cache may keep answers read from the warehouse. False (PostgreSQL, Spark: the cautious
    # default): other processes read and write it meanwhile, unseen by a server
    exclusive_process: bool = False
    # the warehouse is a file on this machine (``Project.warehouse_path``): opening a missing
    # one would create it, so a read or a check before the first run is refused instead
    local_file: bool = False


#: The name ``scan_sql`` uses for the table of a :class:`DatabaseScan`.
SOURCE_TABLE = "_hw_source_table"


@dataclass(frozen=True)
class DatabaseScan:
    """A source table the engine reads itself, straight from the source database.

    ``scan_sql`` of the load reads it under the name :data:`SOURCE_TABLE`; the engine puts
    its own reader there (DuckDB: the postgres extension's ``postgres_scan_pushdown``), so
    filters on it run in the source database. ``uri`` holds the password: it is given to
    the engine only, never logged. ``translate_error`` turns an engine error raised while
    reading into the connector's error (naming the connection, never the password, and
    saying whether a retry can help). ``verify(cursor, table)``, when set, runs just
    before the load commits, with the engine's cursor and the table holding the loaded rows,
    and may raise to refuse the load (values the engine's reader cannot represent)."""

    kind: str  # one of Capabilities.database_scan
    uri: str = field(repr=False)  # holds the password
    schema: str
    table: str
    translate_error: Callable[[BaseException], Exception]
    verify: Callable[[Any, str], None] | None = None
    # the load's filter keeps a small part of the table: one query the source database
    # can answer with an index beats a parallel read of every page
    selective: bool = False


@dataclass(frozen=True)
class LoadRequest:
    """One load of a source asset: new data, how to write it, and the state to commit with it.

    Exactly one of ``batches`` (an Arrow stream) or ``scan_sql`` (a SELECT the engine runs
    itself, over files or a ``database_scan``) is given.
    """

    schema: str
    table: str
    load_id: int
    write: WriteDisposition
    primary_key: list[str] = field(default_factory=list)
    cursor: str | None = None
    batches: pa.RecordBatchReader | None = None
    scan_sql: str | None = None
    state: dict[str, Any] = field(default_factory=dict)  # committed with the data
    rejects_sql: str | None = None  # rows rejected by the scan: (file, line, error, raw)
    fail_on_reject: bool = False  # a rejected row fails the load instead of being recorded
    contract: Contract = "evolve"  # what to do when the source's schema changed
    run_id: str | None = None  # the run it belongs to (None: a release, outside any run)
    advance_state: bool = True  # False for a bounded backfill window (end_value)
    boundary: str | None = None  # cursor value of the last load: rows at it may be re-read
    # Quality hooks, called inside the load's transaction with the engine's cursor:
    # ``screen(cursor, staged_table)`` may move bad staged rows aside (quarantine) before they
    # are written; ``audit(cursor, target_table)`` runs after the write and may raise to
    # refuse the whole load (nothing is committed).
    screen: Callable[[Any, str], Any] | None = None
    audit: Callable[[Any, str], Any] | None = None
    # ``before_stage(cursor)`` runs first inside the transaction (e.g. a quarantine release
    # preparing the rows that ``scan_sql`` then reads)
    before_stage: Callable[[Any], Any] | None = None
    # ``scan_sql`` reads the warehouse's own tables (a quarantine release reads the rows
    # ``before_stage`` left there), not files: every engine runs it in the warehouse itself
    scan_in_warehouse: bool = False
    # the source table ``scan_sql`` reads as SOURCE_TABLE (engine capability database_scan)
    database_scan: DatabaseScan | None = None
    # ``run --full-refresh``: the load replaces the table (dropped inside its transaction)
    # and its state, so a crash keeps the old table and state together
    full_refresh: bool = False


#: Syncs (reverse ETL): the column of a sync's upserts telling an insert from an update
SYNC_OP = "_hw_op"
SYNC_INSERT = "insert"
SYNC_UPDATE = "update"


@dataclass(frozen=True)
class SyncCounts:
    """How many rows of the model a sync compared, and what it would change."""

    rows: int
    inserts: int
    updates: int
    deletes: int


@dataclass(frozen=True)
class SchemaChange:
    """One difference between a load's columns and its table's, and what the load's
    contract did about it (recorded in ``_headwater.loads.schema_changes``)."""

    column: str
    change: str  # new_column | widened | incompatible | dropped
    old_type: str | None  # None for a new column
    new_type: str | None  # None for a dropped column
    action: str  # what the contract did, e.g. "column added", "2 rows discarded"

    def describe(self, table: str) -> str:
        """One line for logs and summaries: table, column, old and new type, action."""
        if self.change == "new_column":
            what = f"new column {self.column!r} ({self.new_type})"
        elif self.change == "dropped":
            what = f"column {self.column!r} ({self.old_type}) is no longer in the source"
        else:
            what = f"column {self.column!r} changed type from {self.old_type} to {self.new_type}"
        return f"{table}: {what}: {self.action}"


@dataclass(frozen=True)
class LoadResult:
    rows_read: int  # rows extracted
    rows_written: int  # rows inserted or updated (0 on a rerun with no new data)
    rows_rejected: int
    cursor_max: str | None
    # merge and scd2: rows read that lost to a newer version of their key, a later row of
    # the same load or (by cursor) the row the table already holds; none is written
    rows_superseded: int = 0
    schema_changes: tuple[SchemaChange, ...] = ()


def open_engine(
    kind: str,
    path: Path | str,
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
    options: dict[str, Any] | None = None,
) -> Engine:
    """Open the engine named ``kind`` on ``path``: DuckDB's file, or PostgreSQL's
    ``postgresql://`` URL (its password given to the driver only, never logged);
    ``memory_limit`` bounds DuckDB's memory (e.g. ``"2GB"``; None: the engine's default)."""
    if kind == "duckdb":
        from headwater.engines.duckdb.engine import DuckDBEngine

        return DuckDBEngine(Path(path), read_only=read_only, memory_limit=memory_limit)
    if kind == "postgres":
        from headwater.engines.postgres.engine import PostgresEngine

        return PostgresEngine(str(path), read_only=read_only)
    if kind == "spark":  # options: master, metastore_uri (engines/spark/session.py)
        from headwater.engines.spark.engine import SparkEngine
        from headwater.engines.spark.session import options_for

        return SparkEngine(options_for(Path(path), options or {}))
    raise ValueError(f"unknown engine {kind!r}")


def capabilities_of(kind: str) -> Capabilities:
    """What the engine named ``kind`` can do, without opening a warehouse (nor importing
    its driver): callers choose a path by these fields, never by the engine's name."""
    if kind == "duckdb":
        from headwater.engines.duckdb.capabilities import CAPABILITIES

        return CAPABILITIES
    if kind == "postgres":
        from headwater.engines.postgres.capabilities import CAPABILITIES as PG

        return PG
    if kind == "spark":
        from headwater.engines.spark.capabilities import CAPABILITIES as SPARK

        return SPARK
    raise ValueError(f"unknown engine {kind!r}")


def sql_validator(kind: str) -> SqlValidator:
    """The validator of project SQL for the engine named ``kind``, as a project's loader
    takes it: a SQL text -> None when it is valid in the project's dialect (DuckDB's parser
    decides) and translates to the engine's, else a ``SyntaxProblem`` (where and why; an
    untranslatable construct is named, see :mod:`headwater.engines.dialects`). Pure
    parsing, no warehouse opened; DuckDB is imported only when a text is checked."""
    from headwater.engines.dialects import validator_for

    def check(text: str) -> SyntaxProblem | None:
        from headwater.engines.duckdb.parse import check_sql

        return check_sql(text)

    if kind == "duckdb":
        from headwater.engines.duckdb.capabilities import CAPABILITIES

        return validator_for(check, CAPABILITIES.dialect)
    if kind == "postgres":  # project SQL is DuckDB's: its parser, then postgres' refusals
        from headwater.engines.postgres.capabilities import CAPABILITIES as PG

        return validator_for(check, PG.dialect)
    if kind == "spark":  # DuckDB's parser, then spark's refusals (no pyspark imported)
        from headwater.engines.spark.capabilities import CAPABILITIES as SPARK

        return validator_for(check, SPARK.dialect)
    raise ValueError(f"unknown engine {kind!r}")
