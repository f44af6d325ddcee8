"""The nodes of a project's graph: source assets, models and tasks.

An :class:`Asset` is pure data: what a step must do, never a connection or a live object
(Python models keep a reference to their function, which is still data for the runtime).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from headwater.config.exports import ExportSettings
from headwater.config.settings import ModelSettings, SourceSettings, SyncSettings, TableOptions
from headwater.project.checks import Check

# "sync": reverse ETL, a model merged into an operational database (headwater.syncs)
# "export": a model written to files (headwater.exports)
Kind = Literal["source", "model", "task", "sync", "export"]


@dataclass(frozen=True)
class SourceSpec:
    """What a source asset extracts: one table, a query, or a set of files."""

    source: str  # the [sources.<name>] it comes from
    settings: SourceSettings
    table: str | None = None  # a table of the connection
    options: TableOptions | None = None

    @property
    def primary_key(self) -> list[str]:
        if self.options and self.options.primary_key is not None:
            return self.options.primary_key
        return self.settings.primary_key

    @property
    def cursor(self) -> str | None:
        if self.options and self.options.cursor is not None:
            return self.options.cursor or None
        return self.settings.cursor or None

    @property
    def interval_column(self) -> str | None:
        """The column bounding reads to the run's data interval (None: not bounded)."""
        if self.options and self.options.interval_column is not None:
            return self.options.interval_column or None
        return self.settings.interval_column or None

    @property
    def write(self) -> str:
        if self.options and self.options.write is not None:
            return self.options.write
        return self.settings.write

    @property
    def initial_value(self) -> str | None:
        if self.options and self.options.initial_value is not None:
            return self.options.initial_value
        return self.settings.initial_value


@dataclass(frozen=True)
class Asset:
    """A node of the graph. ``name`` is unique and schema-qualified for assets (``raw.x``)."""

    name: str
    kind: Kind
    schema: str | None
    table: str | None
    path: Path | None = None  # the file that defines it
    line: int = 1
    deps: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    description: str = ""
    sql: str | None = None  # SQL models: the SELECT
    function: Callable[..., Any] | None = field(default=None, compare=False)  # @model/@task
    params: tuple[str, ...] = ()  # Python models: parameter name -> upstream asset (same order)
    model: ModelSettings | None = None
    source: SourceSpec | None = None
    sync: SyncSettings | None = None  # a sync step: what it merges where
    export: ExportSettings | None = None  # an export step: what it writes where
    retries: int | None = None
    retry_delay: float | None = None
    timeout: float | None = None
    checks: tuple[Check, ...] = ()
    # False: a task declared @task(warehouse=False), which neither reads nor writes the
    # warehouse (so it may run outside the run's process: runtime/executors)
    warehouse: bool = True

    @property
    def short_name(self) -> str:
        return self.table or self.name

    @property
    def is_python(self) -> bool:
        return self.function is not None

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.path else self.name
