"""Typed settings of a project: ``headwater.toml`` and model sidecars, validated by pydantic.

Validation errors become :class:`ConfigError` messages that start with ``file:line``.
Unknown keys are errors (a typo must not be silently ignored).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from headwater.config.exports import ExportSettings, check_exports
from headwater.config.rest import RestSettings
from headwater.config.schedule import check_pipeline_schedule
from headwater.config.streams import CdcSettings, KafkaSettings
from headwater.config.textfile import load_toml, locate_key
from headwater.config.triggers import ConditionTrigger, FileTrigger, check_pipeline_triggers
from headwater.errors import ConfigError

WriteDisposition = Literal["append", "replace", "merge", "scd2"]
Contract = Literal["evolve", "freeze", "discard_row", "discard_value"]
Materialization = Literal["view", "table", "incremental"]
CharPadding = Literal["trim", "keep"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_list(value: Any) -> Any:
    if isinstance(value, str):
        return [value] if value else []
    return value


class ConnectionSettings(_Strict):
    """A named external system. ``url`` may hold ``${ENV}`` placeholders, resolved at use.
    ``max_concurrent``: at most this many extracts read from it at once in one process."""

    url: str
    max_concurrent: int | None = Field(default=None, ge=1)


class TableOptions(_Strict):
    """Per-table overrides inside a source group."""

    primary_key: list[str] | None = None
    cursor: str | None = None
    write: WriteDisposition | None = None
    columns: list[str] | None = None
    query: str | None = None
    initial_value: str | None = None
    char_padding: CharPadding | None = None  # default: the source's
    interval_column: str | None = None  # default: the source's; "" = not bounded
    checks: list[dict[str, Any]] = Field(default_factory=list)

    _pk = field_validator("primary_key", mode="before")(_as_list)


class SourceSettings(_Strict):
    """A source: a group of tables from a connection, a query, or a set of files."""

    connection: str | None = None
    tables: list[str] = Field(default_factory=list)  # ["*"]: every table (see `headwater discover`)
    include: list[str] = Field(default_factory=list)  # glob patterns filtering "*"
    exclude: list[str] = Field(default_factory=list)
    db_schema: str | None = None  # the database schema to list tables of (PostgreSQL: public)
    # a group's asset names: "prefixed" (<group>_<table>) or "source" (the table's own name,
    # so two databases' `lineitem` land side by side in their own schemas)
    table_names: Literal["prefixed", "source"] = "prefixed"
    table_options: dict[str, TableOptions] = Field(default_factory=dict)
    query: str | None = None
    files: str | None = None
    format: Literal["csv", "jsonl", "parquet"] | None = None
    kafka: KafkaSettings | None = None  # a Kafka topic's messages (config/streams.py)
    cdc: CdcSettings | None = None  # the changes of `tables` through a replication slot
    rest: RestSettings | None = None  # a REST API: one asset per endpoint (config/rest.py)
    primary_key: list[str] = Field(default_factory=list)
    cursor: str | None = None
    initial_value: str | None = None
    end_value: str | None = None  # bounded backfill window [initial_value, end_value); state kept
    lag: str | None = None  # re-read this much before the last cursor value ("2 hours", "100")
    # a run with a data interval reads only the rows with start <= interval_column < end
    # (bound parameters; headwater.sources.interval); a run without one reads as always
    interval_column: str | None = None
    contract: Contract = "evolve"
    write: WriteDisposition = "append"
    # how database rows reach the warehouse: "native" (the warehouse reads the source
    # itself; tables whose every column it maps exactly), "arrow" (the connector streams
    # Arrow batches), or "auto" (native where it is exact, else arrow)
    transport: Literal["auto", "native", "arrow"] = "auto"
    # CHAR(n) values of database sources: "trim" (trailing blanks dropped, as the source's
    # comparisons see them) or "keep" (padded to n, as PostgreSQL stores them)
    char_padding: CharPadding = "trim"
    schema_: str = Field("raw", alias="schema")
    # CSV options
    delimiter: str | None = None
    header: bool = True
    quote: str | None = None
    encoding: str | None = None
    null: list[str] = Field(default_factory=list)
    on_bad_line: Literal["fail", "skip_and_record"] = "skip_and_record"
    column_types: dict[str, str] = Field(
        default_factory=dict
    )  # CSV: typed columns; bad values rejected with file:line
    max_line_size: int | None = Field(None, gt=0)  # CSV: bytes per line (DuckDB: 2,000,000)
    # files: day=2026-11-20/ folders become columns (true), never (false), or when every
    # file's path has the same keys (unset); a key that is also a file column is refused
    hive_partitioning: bool | None = None
    allow_empty: bool = False  # files: a glob that matches no file is not an error
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    retries: int | None = None
    retry_delay: float | None = None
    timeout: float | None = None
    checks: list[dict[str, Any]] = Field(default_factory=list)  # [[sources.x.checks]]

    _lists = field_validator(
        "primary_key", "tags", "null", "tables", "include", "exclude", mode="before"
    )(_as_list)

    def file_format(self) -> str | None:
        """The format of a file source: ``format``, else told by the glob's suffix (None:
        it cannot be told, or this is no file source)."""
        if self.format or self.files is None:
            return self.format
        pattern = self.files.removesuffix(".gz")
        return next((f for s, f in _FORMAT_BY_SUFFIX.items() if pattern.endswith(s)), None)

    def kind(self) -> str:
        """``csv``, ``jsonl``, ``parquet`` (files), ``query``, ``wildcard`` (every table of
        the connection), ``tables`` or ``rest``: which of :data:`SOURCE_KEYS` apply."""
        if self.rest is not None:
            return "rest"
        if self.kafka is not None:
            return "kafka"
        if self.cdc is not None:
            return "cdc"
        if self.files is not None:
            return self.file_format() or "files"
        if self.query is not None:
            return "query"
        return "wildcard" if self.tables == ["*"] else "tables"


_FORMAT_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}
_FILES = frozenset({"csv", "jsonl", "parquet", "files"})
_DATABASE = frozenset({"tables", "wildcard", "query"})
_STREAMS = frozenset({"kafka", "cdc"})
_ALL = _FILES | _DATABASE | {"rest"} | _STREAMS
# The kinds of source each key of [sources.x] is read for (see SourceSettings.kind). A key
# set on a source of another kind is refused: it would do nothing there.
SOURCE_KEYS: dict[str, frozenset[str]] = {
    "connection": _ALL,  # file sources: the s3:// connection of an s3:// glob
    "tables": frozenset({"tables", "wildcard", "cdc"}),
    "include": frozenset({"wildcard"}),
    "exclude": frozenset({"wildcard"}),
    "db_schema": frozenset({"wildcard"}),
    "table_names": frozenset({"tables", "wildcard", "rest", "cdc"}),
    "table_options": frozenset({"tables", "wildcard", "cdc"}),
    "query": frozenset({"query"}),
    "files": _FILES,
    "format": _FILES,
    "rest": frozenset({"rest"}),
    "kafka": frozenset({"kafka"}),
    "cdc": frozenset({"cdc"}),
    "primary_key": _ALL,
    "cursor": _ALL - {"cdc"},  # cdc: the changes' order is their LSN (_cdc_lsn)
    "initial_value": _DATABASE | {"rest"},  # files are incremental by file, not by cursor window
    "end_value": _DATABASE,
    "lag": _DATABASE,
    "interval_column": _DATABASE,
    "contract": _ALL,
    "write": _ALL,
    "transport": _DATABASE,
    "char_padding": _DATABASE,
    "schema_": _ALL,
    "delimiter": frozenset({"csv"}),
    "header": frozenset({"csv"}),
    "quote": frozenset({"csv"}),
    "encoding": frozenset({"csv"}),
    "null": frozenset({"csv"}),
    "on_bad_line": frozenset({"csv", "jsonl"}),
    "column_types": frozenset({"csv"}),
    "max_line_size": frozenset({"csv"}),
    "hive_partitioning": _FILES,
    "allow_empty": _FILES,
    "description": _ALL,
    "tags": _ALL,
    "retries": _ALL,
    "retry_delay": _ALL,
    "timeout": _ALL,
    "checks": _ALL,
}
_KIND_NAMES = {
    "csv": "a CSV source",
    "jsonl": "a JSON-lines source",
    "parquet": "a Parquet source",
    "query": "a query source",
    "wildcard": 'a tables = ["*"] source',
    "tables": "a table source",
    "kafka": "a Kafka source",
    "cdc": "a change-capture (cdc) source",
    "rest": "a REST source",
}
# keys accepted once, or expected by users of other tools, that nothing reads (yet): the
# error says what to use instead (by the section they appear in)
UNSUPPORTED: dict[tuple[str, str], str] = {
    ("pipelines", "cron"): 'not supported: use schedule = "0 6 * * *" (and timezone)',
    ("connections", "options"): "not supported: put connection parameters in the url "
    "(postgresql://...?sslmode=require, mysql://...?ssl-mode=required)",
    ("model", "columns"): "not supported yet (column descriptions are not used): describe "
    "the model with `description`, check columns with `checks`",
}


class ModelSettings(_Strict):
    """Settings of one model, from its sidecar YAML, header comment or decorator."""

    materialized: Materialization = "view"
    unique_key: list[str] = Field(default_factory=list)
    time_column: str | None = None
    lookback: str | None = None
    # a partitioned model: a run with a data interval replaces only that interval's rows
    partition_by: str | None = None  # the column whose value places a row in an interval
    grain: Literal["hour", "day", "month"] | None = None  # the smallest interval it builds
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    retries: int | None = None
    retry_delay: float | None = None
    timeout: float | None = None
    depends_on: list[str] = Field(default_factory=list)
    checks: list[dict[str, Any]] = Field(default_factory=list)
    schema_: str | None = Field(None, alias="schema")

    _lists = field_validator("unique_key", "tags", "depends_on", mode="before")(_as_list)


class PipelineSettings(_Strict):
    """A named selection of the graph (``headwater run --pipeline NAME``), and its schedule
    (``schedule`` or ``every``; checked by :func:`headwater.config.schedule.check_pipeline_schedule`,
    used by :mod:`headwater.scheduling`)."""

    select: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    schedule: str | None = None  # cron, 5 fields, in `timezone` ("0 6 * * *")
    every: str | None = None  # fixed steps from `start` ("15m", "1h")
    timezone: str = "UTC"  # IANA name
    start: datetime | date | str | None = None  # in `timezone` unless it has an offset
    end: datetime | date | str | None = None
    catchup: Literal["all", "latest", "none"] = "latest"
    max_active_runs: int = Field(1, ge=1)  # queued or running intervals at once
    # "HH:MM" in `timezone`: an interval's run must have succeeded by the first such time at
    # or after the interval's end (headwater.scheduling.deadlines), else deadline_missed
    deadline: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # a server's run queue takes the queued run of the highest priority first (FIFO within
    # one priority); a run of no pipeline has priority 0
    priority: int = 0
    # triggers besides the clock, run by `headwater server` (config/triggers.py)
    on_files: str | FileTrigger | None = None  # a glob, or { glob, settle_seconds }
    on_assets: list[str] = Field(default_factory=list)  # after a run that built one of these
    on_condition: ConditionTrigger | None = None  # when a SQL value on a connection changes

    _lists = field_validator("select", "exclude", "on_assets", mode="before")(_as_list)

    @property
    def triggered(self) -> bool:
        """True when a trigger besides the clock runs this pipeline."""
        return bool(self.on_files or self.on_assets or self.on_condition)


class SyncSettings(_Strict):
    """``[syncs.NAME]``: reverse ETL, a model merged into a table of an operational
    PostgreSQL or MySQL/MariaDB database (headwater.syncs): upsert by ``key``, and with
    ``deletes`` the target's rows whose key left the model are deleted."""

    model: str  # the asset synced ("marts.customer_features", or its short name)
    connection: str  # a [connections.x] of scheme postgresql or mysql/mariadb
    table: str  # the target table ("public.customer_features"; MySQL: "db.t" or "t")
    key: list[str] = Field(min_length=1)  # the target's primary or unique key columns
    columns: list[str] | None = None  # default: every column of the model
    deletes: bool = False
    batch_size: int = Field(50_000, ge=1)  # rows per batch sent to the target
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    retries: int | None = None
    retry_delay: float | None = None
    timeout: float | None = None

    _lists = field_validator("key", "tags", mode="before")(_as_list)


AlertEvent = Literal["run_failed", "check_failed", "deadline_missed"]
_ALL_EVENTS: tuple[AlertEvent, ...] = ("run_failed", "check_failed", "deadline_missed")


class AlertSettings(_Strict):
    """``[alerts.NAME]``: where to send an alert (exactly one of ``webhook``, a URL that gets
    a JSON POST, and ``command``, a shell command that gets the JSON on stdin), on which
    events, for which pipelines (None: every run, with or without a pipeline)."""

    webhook: str | None = None  # may hold ${ENV} placeholders, resolved when sending
    command: str | None = None
    on: list[AlertEvent] = Field(default_factory=lambda: list(_ALL_EVENTS))
    pipelines: list[str] | None = None

    _lists = field_validator("on", "pipelines", mode="before")(_as_list)

    @model_validator(mode="after")
    def _one_target(self) -> AlertSettings:
        if (self.webhook is None) == (self.command is None):
            raise ValueError("set either webhook or command")
        return self


def check_executor(value: str) -> str:
    """``value`` if it names an executor (``threads``, ``process``, ``dask://HOST:PORT``);
    ValueError saying what is expected otherwise."""
    if value in ("threads", "process") or re.fullmatch(r"dask://[^\s/:]+:\d{1,5}", value):
        return value
    raise ValueError(
        f'{value!r} is not an executor: use "threads", "process" or "dask://HOST:PORT"'
    )


class ProjectTable(_Strict):
    name: str
    warehouse: str = ".headwater/warehouse.duckdb"
    metastore: str = "sqlite:///.headwater/metastore.sqlite"
    engine: Literal["duckdb", "postgres", "spark"] = "duckdb"
    # engine = "postgres": warehouse is a postgresql:// URL (${ENV} for the password)
    # engine = "spark": local[N], spark://host:7077 or sc://host:15002 (Spark Connect), and
    # an external Hive metastore (thrift://host:9083; default: Derby under .headwater/)
    master: str = "local[2]"
    metastore_uri: str | None = None
    threads: int = Field(4, ge=1, le=256)
    retries: int = Field(0, ge=0)
    retry_delay: float = Field(1.0, ge=0)
    timeout: float = Field(3600.0, gt=0)
    # the warehouse's memory budget (DuckDB's memory_limit, e.g. "2GB"); DuckDB's default
    # is 80% of RAM, and it keeps written blocks cached up to it
    memory_limit: str | None = Field(
        None, pattern=r"(?i)^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$"
    )
    # retention: a server deletes runs (and their logs) older than this once a day
    history_days: int | None = Field(None, ge=1)
    # several servers on a PostgreSQL metastore: a server silent this long (seconds) is dead,
    # and the leader takes over its runs (headwater.server.leader)
    heartbeat_timeout: float = Field(30.0, ge=1)
    # where the steps that need no warehouse run (headwater.runtime.executors): "threads"
    # (the run's own threads), "process" (a child process each), "dask://HOST:PORT"
    executor: str = "threads"

    _executor = field_validator("executor")(lambda value: check_executor(value))

    @model_validator(mode="after")
    def _warehouse_url(self) -> ProjectTable:
        """A PostgreSQL warehouse is a database's URL, never a file path."""
        url = self.warehouse.split("://")[0].split("+")[0].lower()
        if self.engine == "postgres" and url not in ("postgresql", "postgres"):
            raise ValueError(
                'engine = "postgres" needs warehouse = "postgresql://..." (a database URL, '
                "not a file path)"
            )
        return self


class ServerTable(_Strict):
    """``[server]``: how ``headwater server`` is reached."""

    # the path prefix a reverse proxy serves it under ("/headwater"): every link and cookie
    # of the web UI carries it; "" when served at the root
    root_path: str = Field(default="", pattern=r"^(/[A-Za-z0-9._~-]+)*$")


class ProjectSettings(_Strict):
    """The whole of ``headwater.toml``."""

    project: ProjectTable
    schemas: dict[str, str] = Field(default_factory=dict)
    connections: dict[str, ConnectionSettings] = Field(default_factory=dict)
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    pipelines: dict[str, PipelineSettings] = Field(default_factory=dict)
    alerts: dict[str, AlertSettings] = Field(default_factory=dict)
    exports: dict[str, ExportSettings] = Field(default_factory=dict)  # config/exports.py
    syncs: dict[str, SyncSettings] = Field(default_factory=dict)
    server: ServerTable = Field(default_factory=ServerTable)


def load_settings(path: Path) -> ProjectSettings:
    """Read and validate ``headwater.toml``; errors name the file and line."""
    data, text = load_toml(path)
    try:
        settings = ProjectSettings.model_validate(data)
    except ValidationError as exc:
        raise validation_error(path, text, exc) from None
    for name, source in settings.sources.items():
        _check_source_keys(name, source, path, text)
        _check_file_location(name, source, settings.connections, path, text)
        _check_interval_column(name, source, settings.connections, path, text)
    check_exports(settings.exports, settings.connections, path, text)
    for name, pipe in settings.pipelines.items():
        check_pipeline_schedule(name, pipe, path, text)
        check_pipeline_triggers(name, pipe, settings, path, text)
    return settings


def _check_source_keys(name: str, source: SourceSettings, path: Path, text: str) -> None:
    """Refuse a key that a source of this kind would not read (one located line)."""
    kind = source.kind()
    where = ("sources", name)
    if kind == "files":
        line = locate_key(text, (*where, "files"))
        raise ConfigError(
            f"{path}:{line}: sources.{name}.files: cannot tell the format of "
            f'{source.files!r}; set format = "csv", "jsonl" or "parquet"'
        )
    for key in sorted(source.model_fields_set):
        if kind not in SOURCE_KEYS[key]:
            shown = SourceSettings.model_fields[key].alias or key
            line = locate_key(text, (*where, shown))
            readers = [v for k, v in _KIND_NAMES.items() if k in SOURCE_KEYS[key]]
            raise ConfigError(
                f"{path}:{line}: sources.{name}.{shown}: not read by {_KIND_NAMES[kind]} "
                f"(only by {', '.join(readers)}); remove it"
            )


def _check_file_location(
    name: str,
    source: SourceSettings,
    connections: dict[str, ConnectionSettings],
    path: Path,
    text: str,
) -> None:
    """An ``s3://`` glob needs an ``s3://`` connection; a local one takes none."""
    if source.files is None:
        return
    conn = source.connection
    why = None
    if not source.files.startswith("s3://"):
        why = "a local files glob reads no connection; remove it" if conn else None
    elif conn is None:
        why = "an s3:// glob needs connection = an s3:// [connections.x]"
    elif conn not in connections:
        why = f"connection {conn!r} is not declared in [connections]"
    elif not connections[conn].url.startswith("s3://"):
        why = f"connection {conn!r} is not an s3:// connection"
    if why is not None:
        key = "connection" if conn else "files"
        line = locate_key(text, ("sources", name, key))
        raise ConfigError(f"{path}:{line}: sources.{name}.{key}: {why}")


def _check_interval_column(
    name: str,
    source: SourceSettings,
    connections: dict[str, ConnectionSettings],
    path: Path,
    text: str,
) -> None:
    """Refuse an ``interval_column`` that cannot work (one located line): with ``write =
    "replace"`` (each interval's load would drop the others'), ``transport = "native"``
    (the warehouse's scan binds no parameters) or a MySQL connection (its reader neither)."""
    bounded: list[tuple[tuple[str, ...], str | None, str]] = [
        (("sources", name), source.interval_column, source.write)
    ]
    for table, opts in source.table_options.items():
        key = ("sources", name, "table_options", table)
        bounded.append((key, opts.interval_column, opts.write or source.write))
    bounded = [b for b in bounded if b[1]]
    if not bounded:
        return
    conn = connections.get(source.connection or "")
    scheme = conn.url.split(":", 1)[0].split("+", 1)[0].lower() if conn else ""
    for where, _, write in bounded:
        why = None
        if write == "replace":
            why = 'not with write = "replace", which would keep only the last interval\'s '
            why += 'rows: use write = "merge" (with primary_key) or "append"'
        elif source.transport == "native":
            why = 'not with transport = "native" (the warehouse\'s scan binds no parameters)'
        elif scheme in ("mysql", "mariadb"):
            why = "not supported on MySQL/MariaDB connections yet (their reader binds no "
            why += "parameters): remove it"
        if why is not None:
            line = locate_key(text, (*where, "interval_column"))
            dotted = ".".join(where[1:])
            raise ConfigError(f"{path}:{line}: sources.{dotted}.interval_column: {why}")


def validate_model_settings(
    data: Any, *, path: Path, text: str, first_line: int = 1
) -> ModelSettings:
    """Validate a sidecar / header mapping; errors name ``path`` and the offending line."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:{first_line}: expected a mapping of settings")
    try:
        return ModelSettings.model_validate(data)
    except ValidationError as exc:
        raise validation_error(path, text, exc, yaml_offset=first_line - 1) from None


def validation_error(
    path: Path, text: str, exc: ValidationError, *, yaml_offset: int | None = None
) -> ConfigError:
    """One located line per pydantic error."""
    lines = []
    for err in exc.errors()[:5]:
        loc = tuple(err["loc"])
        line = locate_key(text, loc) if yaml_offset is None else _yaml_line(text, loc) + yaml_offset
        key = ".".join(str(p) for p in loc) or "(top)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            section = "model" if yaml_offset is not None else str(loc[0])
            msg = UNSUPPORTED.get((section, str(loc[-1])), "unknown setting")
        lines.append(f"{path}:{line}: {key}: {msg}")
    return ConfigError("\n".join(lines))


def _yaml_line(text: str, loc: tuple[Any, ...]) -> int:
    """Line of the deepest key of ``loc`` found in a YAML text (best effort)."""
    for key in reversed(loc):
        if isinstance(key, str):
            for number, line in enumerate(text.splitlines(), start=1):
                stripped = line.lstrip(" -#")
                if stripped.startswith(f"{key}:"):
                    return number
    return 1
