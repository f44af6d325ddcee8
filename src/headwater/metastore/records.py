"""Plain, immutable records returned by :class:`~headwater.metastore.Metastore`.

This module imports nothing heavy: the CLI, the API and the UI can type against these records
without loading SQLAlchemy. Every datetime is timezone-aware UTC; ``params`` is a dict decoded
from JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

RUN_STATUSES: frozenset[str] = frozenset({"running", "success", "failed", "abandoned"})
"""Every value ``runs.status`` may hold. ``running`` is the only non-final one."""

STEP_STATUSES: frozenset[str] = frozenset(
    {
        "pending",
        "running",
        "success",
        "failed",
        "upstream_failed",
        "skipped",
        "timed_out",
        "check_failed",  # built, but an error-severity check failed: the build was not published
        "blocked_by_check",  # downstream of a check_failed step
    }
)
"""Every value ``step_runs.status`` and ``attempts.status`` may hold."""

STEP_KINDS: frozenset[str] = frozenset({"source", "model", "task", "check"})
"""Every value ``step_runs.kind`` may hold."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One execution of a pipeline or of a selection (a row of ``runs``)."""

    run_id: str
    project: str
    pipeline: str | None
    selection: str | None
    trigger: str
    parent_run_id: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    pid: int | None
    hostname: str | None
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StepRunRecord:
    """One step (asset, task or check) of a run (a row of ``step_runs``)."""

    run_id: str
    step: str
    kind: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    rows_in: int | None
    rows_out: int | None
    error: str | None
    log_path: str | None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One try of a step; a step retried twice has three attempts (a row of ``attempts``)."""

    run_id: str
    step: str
    attempt: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    error: str | None


@dataclass(frozen=True, slots=True)
class WatermarkRecord:
    """A copy, for display, of an asset's incremental watermark (a row of ``watermarks``).

    The authoritative watermark lives where ``location`` says (for example
    ``"warehouse:_headwater.state"``), committed in the same transaction as the data it describes.
    """

    asset: str
    value: str
    location: str
    updated_at: datetime
    run_id: str
