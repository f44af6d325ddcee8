"""Plain, immutable records returned by :class:`~headwater.metastore.Metastore`.

This module imports nothing heavy: the CLI, the API and the UI can type against these records
without loading SQLAlchemy. Every datetime is timezone-aware UTC; ``params`` is a dict decoded
from JSON.

Only the metastore calls the private functions: ``_check_choice`` and ``_check_id`` refuse
(``ValueError``) a value outside the allowed statuses and kinds, or an empty id, before it is
written; the ``_*_record`` functions at the end turn a row read from the matching table
(``runs``, ``step_runs``, ``attempts``, ``watermarks``) into its record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlalchemy as sa

RUN_STATUSES: frozenset[str] = frozenset(
    {"queued", "running", "success", "failed", "interrupted", "abandoned"}
)
"""Every value ``runs.status`` may hold. ``queued`` (waiting in a server's run queue) and
``running`` are the non-final ones;
``interrupted``: Ctrl-C, SIGTERM or a cancel through a server's API stopped it (its
running steps were cancelled and failed with the error ``interrupted (Ctrl-C)``,
``interrupted (SIGTERM)`` or ``cancelled (by request)``: one status, the cause in the steps);
``abandoned``: its process died without recording an end."""

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

STEP_KINDS: frozenset[str] = frozenset({"source", "model", "task", "check", "sync", "export"})
"""Every value ``step_runs.kind`` may hold."""


def _check_choice(what: str, value: str, allowed: frozenset[str]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(sorted(allowed))}")


def _check_id(what: str, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")


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

    @property
    def kind(self) -> str:
        """What the run did: ``check`` (``headwater check``: checks on the warehouse as
        it is, nothing built), ``retry`` (reran what ``parent_run_id`` left undone) or
        ``run``. Derived from ``trigger`` and ``parent_run_id``, so runs recorded before
        this existed have a kind too."""
        if self.trigger == "check":
            return "check"
        return "retry" if self.parent_run_id else "run"


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


def _run_record(row: sa.Row[Any]) -> RunRecord:
    params = json.loads(row.params) if row.params else {}
    return RunRecord(
        run_id=row.run_id,
        project=row.project,
        pipeline=row.pipeline,
        selection=row.selection,
        trigger=row.trigger,
        parent_run_id=row.parent_run_id,
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        pid=row.pid,
        hostname=row.hostname,
        params=params if isinstance(params, dict) else {"value": params},
    )


def _step_record(row: sa.Row[Any]) -> StepRunRecord:
    return StepRunRecord(**row._asdict())


def _attempt_record(row: sa.Row[Any]) -> AttemptRecord:
    return AttemptRecord(**row._asdict())


def _watermark_record(row: sa.Row[Any]) -> WatermarkRecord:
    return WatermarkRecord(**row._asdict())


INTERVAL_STATUSES: frozenset[str] = frozenset(
    {"queued", "running", "success", "failed", "cancelled"}
)
"""Every value ``intervals.status`` may hold: ``queued`` (enqueued, no run yet), ``running``
(claimed by a run), then one of the final ``success``, ``failed``, ``cancelled``."""


@dataclass(frozen=True, slots=True)
class IntervalRecord:
    """One scheduled data interval ``[interval_start, interval_end)`` of a pipeline (a row of
    ``intervals``): its status and the run that claimed it."""

    pipeline: str
    interval_start: datetime
    interval_end: datetime
    status: str
    run_id: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int


def _interval_record(row: sa.Row[Any]) -> IntervalRecord:
    return IntervalRecord(**row._asdict())
