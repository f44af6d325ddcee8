"""The trigger keys of ``[pipelines.NAME]``: ``on_files``, ``on_assets``, ``on_condition``.

A pipeline with one of them is run by ``headwater server`` when the trigger fires
(:mod:`headwater.server.triggers`); nothing else reads them. Contract:
:func:`check_pipeline_triggers` raises one located :class:`ConfigError` line
(``file:line: pipelines.NAME.KEY: what is wrong``) for a glob that is empty, absolute or
leaves the project folder, an ``on_condition`` naming no connection of ``[connections]``, or
an ``every`` below :data:`MIN_CONDITION_EVERY`; :func:`check_trigger_assets` (called once
the graph is built) for an ``on_assets`` name that is no asset. :func:`resolve_asset` is
how the server reads those names, so a name accepted here means the same asset there.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from headwater.config.schedule import parse_every
from headwater.config.textfile import locate_key
from headwater.errors import ConfigError

if TYPE_CHECKING:
    from headwater.config.settings import PipelineSettings, ProjectSettings

MIN_CONDITION_EVERY = timedelta(seconds=5)  # a source database is not polled more often
DEFAULT_SETTLE_SECONDS = 5.0  # a file changed more recently than this may be half-written


class FileTrigger(BaseModel):
    """``on_files = { glob = "landing/*.csv", settle_seconds = 5 }``: a file under ``glob``
    (relative to the project folder) is taken once unchanged for ``settle_seconds``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    glob: str
    settle_seconds: float = Field(DEFAULT_SETTLE_SECONDS, ge=0)


class ConditionTrigger(BaseModel):
    """``on_condition = { connection, sql, every }``: ``sql``'s first value, read from
    ``connection`` at most every ``every``; the pipeline runs when it changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connection: str
    sql: str = Field(min_length=1)
    every: str = "1m"

    @property
    def period(self) -> timedelta:
        return parse_every(self.every)


def file_trigger(value: str | FileTrigger | None) -> FileTrigger | None:
    """``on_files`` in its table form (a string is its glob with the default settle time)."""
    return FileTrigger.model_validate({"glob": value}) if isinstance(value, str) else value


def check_pipeline_triggers(
    name: str, pipe: PipelineSettings, settings: ProjectSettings, path: Path, text: str
) -> None:
    """Refuse, in one located line, a trigger key of pipeline ``name`` that is wrong."""

    def fail(key: str, message: str) -> ConfigError:
        line = locate_key(text, ("pipelines", name, key.split(".")[0]))
        return ConfigError(f"{path}:{line}: pipelines.{name}.{key}: {message}")

    files = file_trigger(pipe.on_files)
    if files is not None:
        problem = _glob_problem(files.glob)
        if problem:
            raise fail("on_files", problem)
    cond = pipe.on_condition
    if cond is None:
        return
    if cond.connection not in settings.connections:
        have = ", ".join(sorted(settings.connections)) or "none"
        raise fail(
            "on_condition.connection",
            f"unknown connection {cond.connection!r} (have: {have})",
        )
    try:
        period = cond.period
    except ValueError as exc:
        raise fail("on_condition.every", str(exc)) from None
    if period < MIN_CONDITION_EVERY:
        raise fail(
            "on_condition.every",
            f"{cond.every!r} is too often: at least {int(MIN_CONDITION_EVERY.total_seconds())}s",
        )


def _glob_problem(pattern: str) -> str | None:
    """Why ``pattern`` is no glob relative to the project folder (None: it is one)."""
    if not pattern.strip():
        return "empty glob"
    posix = PurePosixPath(pattern.replace("\\", "/"))
    if posix.is_absolute() or Path(pattern).is_absolute():
        return f"glob {pattern!r} must be relative to the project folder"
    if ".." in posix.parts:
        return f"glob {pattern!r} must stay inside the project folder (no '..')"
    for part in posix.parts:
        if "**" in part and part != "**":
            return f"bad glob {pattern!r}: '**' can only be a whole path component"
    if pattern.count("[") != pattern.count("]"):
        return f"bad glob {pattern!r}: unbalanced '[' ']'"
    return None


def resolve_asset(ref: str, short_names: Mapping[str, str]) -> str | None:
    """The asset ``ref`` names: a full name, or a short one (the table's) that only one
    asset has. ``short_names``: each asset's full name -> its short name."""
    if ref in short_names:
        return ref
    matches = [full for full, short in short_names.items() if short == ref]
    return matches[0] if len(matches) == 1 else None


def check_trigger_assets(
    settings: ProjectSettings, short_names: Mapping[str, str], path: Path, text: str
) -> None:
    """Refuse (one located line) an ``on_assets`` name that is no asset, or several."""
    for name, pipe in settings.pipelines.items():
        for ref in pipe.on_assets:
            if resolve_asset(ref, short_names) is not None:
                continue
            line = locate_key(text, ("pipelines", name, "on_assets"))
            shorts = sorted({*short_names, *short_names.values()})
            close = difflib.get_close_matches(ref, shorts, n=3, cutoff=0.6)
            hint = f"; closest: {', '.join(close)}" if close else ""
            what = "ambiguous asset" if ref in short_names.values() else "unknown asset"
            raise ConfigError(f"{path}:{line}: pipelines.{name}.on_assets: {what} {ref!r}{hint}")
