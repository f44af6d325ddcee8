"""How a backfill is going: each interval of a pipeline's range as the metastore's interval
ledger holds it (``queued``, ``running``, ``success``, ``failed``, ``cancelled``, or not in
the ledger at all), read by the web UI's backfill page and ``GET
/api/pipelines/{name}/intervals``. Starting one is :func:`headwater.api.backfill.plan_backfill`
(the CLI's ``headwater backfill``; a server's scheduler then runs the queued intervals).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from itertools import islice, takewhile

from headwater.api.backfill import schedule_for
from headwater.api.project import ProjectLike, as_project, metastore
from headwater.api.records import seconds_between
from headwater.config.schedule import as_instant
from headwater.errors import ProjectError
from headwater.metastore import IntervalRecord
from headwater.scheduling import intervals as schedule_intervals

MAX_INTERVALS = 5000  # a range's intervals listed at most (a year of hours is 8,760)
FINAL = frozenset({"success", "failed", "cancelled"})


@dataclass(frozen=True)
class IntervalProgress:
    """One interval of the range: ``status`` is the ledger's, or ``missing`` when the
    ledger has no row for it (never queued); ``run_id`` the run that took it last."""

    start: datetime
    end: datetime
    status: str
    run_id: str | None
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def seconds(self) -> float | None:
        return seconds_between(self.started_at, self.finished_at)


@dataclass(frozen=True)
class BackfillProgress:
    """The range ``[start, end)`` of ``pipeline``: its ``intervals``, oldest first (at
    most :data:`MAX_INTERVALS`; ``truncated`` when the range holds more)."""

    pipeline: str
    start: datetime
    end: datetime
    intervals: list[IntervalProgress]
    truncated: bool

    @property
    def counts(self) -> dict[str, int]:
        """How many intervals are in each status."""
        return dict(Counter(i.status for i in self.intervals))

    @property
    def done(self) -> bool:
        """Nothing of the range is queued or running (each interval finished or missing)."""
        return not any(i.status in ("queued", "running") for i in self.intervals)

    def to_json(self) -> dict[str, object]:
        return {
            "pipeline": self.pipeline,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "counts": self.counts,
            "done": self.done,
            "truncated": self.truncated,
            "intervals": [
                {
                    "start": i.start.isoformat(),
                    "end": i.end.isoformat(),
                    "status": i.status,
                    "run_id": i.run_id,
                    "attempts": i.attempts,
                    "started_at": i.started_at.isoformat() if i.started_at else None,
                    "finished_at": i.finished_at.isoformat() if i.finished_at else None,
                    "seconds": i.seconds,
                }
                for i in self.intervals
            ],
        }


def backfill_progress(
    project: ProjectLike, pipeline: str, start: str | datetime, end: str | datetime
) -> BackfillProgress:
    """Each interval of ``pipeline``'s schedule in ``[start, end)`` (dates read in the
    pipeline's ``timezone``, as :func:`~headwater.api.backfill.plan_backfill` reads them)
    with its ledger status. ProjectError for an unknown or unscheduled pipeline or a bad
    range."""
    proj = as_project(project)
    schedule = schedule_for(proj, pipeline)
    try:
        lower, upper = as_instant(start, schedule.tz), as_instant(end, schedule.tz)
    except ValueError as exc:
        raise ProjectError(f"backfill {pipeline}: {exc}") from None
    if not lower < upper:
        raise ProjectError(
            f"backfill {pipeline}: the end ({end}) must be after the start ({start})"
        )
    # as scheduling.backfill.in_range, but never more than the page lists
    inside = takewhile(lambda i: i.end <= upper, schedule_intervals(schedule, after=lower))
    wanted = list(islice(inside, MAX_INTERVALS + 1))
    truncated = len(wanted) > MAX_INTERVALS
    wanted = wanted[:MAX_INTERVALS]
    with metastore(proj) as store:
        ledger = {r.interval_start: r for r in store.intervals(pipeline)}
    found = [_progress(ledger.get(i.start), i.start, i.end) for i in wanted]
    return BackfillProgress(pipeline, lower, upper, found, truncated)


def _progress(rec: IntervalRecord | None, start: datetime, end: datetime) -> IntervalProgress:
    if rec is None:
        return IntervalProgress(start, end, "missing", None, 0, None, None)
    return IntervalProgress(
        start, end, rec.status, rec.run_id, rec.attempts, rec.started_at, rec.finished_at
    )


def scheduled_pipelines(project: ProjectLike) -> list[str]:
    """The pipelines with a ``schedule`` or ``every`` (those a backfill can run), sorted."""
    from headwater.scheduling import schedule_of

    proj = as_project(project)
    return sorted(n for n, p in proj.settings.pipelines.items() if schedule_of(p) is not None)
