"""What an alert says: :class:`Alert` and the builders for runs, check runs and deadlines.

The JSON payload (``Alert.to_json``)::

    {"event": "run_failed", "project": "shop", "pipeline": "daily", "run_id": "2026...",
     "status": "failed", "failed_steps": [{"step": "raw.orders", "status": "failed",
     "error": "one line"}], "interval": {"start": "...", "end": "..."}, "deadline": null,
     "at": "..."}

``pipeline``, ``run_id``, ``interval`` and ``deadline`` are null when they do not apply (a
run started without ``--pipeline``, a deadline missed by an interval that never ran; only a
``deadline_missed`` alert has a ``deadline``, and no failed steps). Each error is its
first line, redacted, cut at :data:`ERROR_CHARS` characters (the step's log has it whole).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from headwater.config.secrets import redact_text

EVENTS = ("run_failed", "check_failed", "deadline_missed")
ERROR_CHARS = 300
# step statuses that count as a check failure (the rest of the non-success ones: a failure)
_CHECK_STATUSES = frozenset({"check_failed"})
_QUIET_STATUSES = frozenset(
    {"success", "skipped", "pending", "upstream_failed", "blocked_by_check"}
)


@dataclass(frozen=True)
class Alert:
    """One event to send. ``failed_steps``: ``(step, status, error)`` triples."""

    event: str
    project: str
    status: str
    pipeline: str | None = None
    run_id: str | None = None
    failed_steps: tuple[tuple[str, str, str | None], ...] = ()
    interval: tuple[str, str] | None = None  # ISO 8601 start and end
    deadline: str | None = None  # ISO 8601: the instant a deadline_missed interval missed
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        """The payload sent (see the module docstring); every text redacted."""
        steps = [
            {"step": step, "status": status, "error": one_line(error)}
            for step, status, error in self.failed_steps
        ]
        interval = {"start": self.interval[0], "end": self.interval[1]} if self.interval else None
        return {
            "event": self.event,
            "project": self.project,
            "pipeline": self.pipeline,
            "run_id": self.run_id,
            "status": self.status,
            "failed_steps": steps,
            "interval": interval,
            "deadline": self.deadline,
            "at": self.at.isoformat(),
        }


def one_line(error: str | None) -> str | None:
    """The first non-blank line of ``error``, redacted, at most :data:`ERROR_CHARS` long."""
    if not error or not error.strip():
        return None
    line = redact_text(error.strip().splitlines()[0])
    return line if len(line) <= ERROR_CHARS else line[: ERROR_CHARS - 3] + "..."


def _interval(params: Mapping[str, Any] | None) -> tuple[str, str] | None:
    params = params or {}
    start, end = params.get("interval_start"), params.get("interval_end")
    return (str(start), str(end)) if start and end else None


def run_alerts(
    project: str,
    pipeline: str | None,
    run_id: str,
    status: str,
    steps: Mapping[str, tuple[str, str | None]],
    params: Mapping[str, Any] | None = None,
) -> list[Alert]:
    """The alerts of a run that ended ``status`` with ``steps`` (name -> (status, error)):
    ``check_failed`` when a step's blocking check failed, ``run_failed`` when a step failed
    otherwise (or the run failed with no failed step: it stopped before its steps). None for
    a run that succeeded or was interrupted (a person stopped it)."""
    if status != "failed":
        return []
    checks = [(n, s, e) for n, (s, e) in steps.items() if s in _CHECK_STATUSES]
    others = [
        (n, s, e) for n, (s, e) in steps.items() if s not in _CHECK_STATUSES | _QUIET_STATUSES
    ]
    common: dict[str, Any] = {
        "project": project,
        "pipeline": pipeline,
        "run_id": run_id,
        "status": status,
        "interval": _interval(params),
    }
    alerts = []
    if checks:
        alerts.append(Alert("check_failed", failed_steps=tuple(checks), **common))
    if others or not checks:
        alerts.append(Alert("run_failed", failed_steps=tuple(others), **common))
    return alerts


def check_alert(project: str, run_id: str, failures: Iterable[tuple[str, str]]) -> Alert:
    """The alert of a ``headwater check`` run whose checks block: ``failures`` are
    ``(asset, message)`` pairs (one per blocking check)."""
    steps = tuple((asset, "check_failed", message) for asset, message in failures)
    return Alert("check_failed", project, "failed", run_id=run_id, failed_steps=steps)


def deadline_alert(
    project: str,
    pipeline: str,
    interval: tuple[datetime, datetime],
    status: str,
    run_id: str | None,
    deadline: datetime,
) -> Alert:
    """The alert of an interval of ``pipeline`` not built successfully by ``deadline``;
    ``status``: the interval's in the ledger (``missing`` when it was never enqueued)."""
    return Alert(
        "deadline_missed",
        project,
        status,
        pipeline=pipeline,
        run_id=run_id,
        interval=(interval[0].isoformat(), interval[1].isoformat()),
        deadline=deadline.isoformat(),
    )
