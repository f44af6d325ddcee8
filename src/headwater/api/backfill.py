"""Backfill: run a scheduled pipeline over a range of its past intervals, through the
metastore's interval ledger (so it is resumable and never runs an interval twice at once).

::

    todo = plan_backfill(project, "daily", "2026-03-01", "2026-04-01", reprocess="failed")
    for outcome in run_backfill(project, "daily", todo):      # no server: in-process
        print(outcome.interval, outcome.status)

:func:`plan_backfill` puts the range's intervals in the ledger (``intervals``, one row per
(pipeline, interval_start): an interval there already is not added again), queues again the
finished ones the ``reprocess`` mode names (:mod:`headwater.scheduling.backfill`) and returns
the range's intervals now queued, oldest first: those it added or reopened and those an
earlier, stopped backfill left queued. Then either a live server's scheduler claims and runs
them (its run queue: one run at a time on the embedded DuckDB warehouse;
:func:`follow_backfill` reports them as they finish), or :func:`run_backfill` runs them here,
one after another: each is claimed (so a server or a second backfill cannot run it too),
run with the interval as its data interval (trigger ``backfill``) and finished with the
run's status. Ctrl-C puts the running interval back to ``queued`` and raises: running the
same backfill again resumes with what is left.

``--single-run``: :func:`plan_single_run` refuses (ProjectError, before anything is
written) a pipeline whose steps one run over the range would build differently
(:mod:`headwater.scheduling.single_run`), then, in one metastore transaction, enqueues,
reopens and claims the range's intervals for one run id: no scheduler can take one of
them in between. That one run, over ``[first claimed start, last claimed end)``, is run
here (:func:`run_single`) or queued on a live server (``POST
/api/pipelines/{name}/backfill``); as it ends :func:`finish_single_run` finishes every
claimed interval with its status (a stopped run puts them back to ``queued``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from headwater.api.project import ProjectLike, as_project
from headwater.api.running import EventHandler, run
from headwater.config.schedule import as_instant
from headwater.errors import ProjectError
from headwater.metastore import Metastore
from headwater.models.partitions import zone_of
from headwater.project import Project
from headwater.runtime.run import new_run_id
from headwater.scheduling import Interval, Schedule, schedule_of
from headwater.scheduling.backfill import in_range, reopened
from headwater.scheduling.single_run import check_single_run

if TYPE_CHECKING:
    from headwater.runtime import RunResult

__all__ = [
    "IntervalOutcome",
    "SingleRun",
    "finish_single_run",
    "follow_backfill",
    "interval_of",
    "plan_backfill",
    "plan_single_run",
    "run_backfill",
    "run_single",
]


@dataclass(frozen=True)
class IntervalOutcome:
    """How one interval of a backfill ended: ``success``, ``failed`` or ``cancelled``."""

    interval: Interval
    status: str
    run_id: str | None


def schedule_for(project: Project, pipeline: str) -> Schedule:
    """The schedule of ``pipeline``; ProjectError (exit 2) for an unknown pipeline or one
    without ``schedule`` or ``every`` (it has no intervals to backfill)."""
    pipe = project.settings.pipelines.get(pipeline)
    if pipe is None:
        known = ", ".join(sorted(project.settings.pipelines)) or "none"
        raise ProjectError(f"no pipeline {pipeline!r} in headwater.toml (pipelines: {known})")
    schedule = schedule_of(pipe)
    if schedule is None:
        raise ProjectError(
            f"pipeline {pipeline!r} has no schedule or every in headwater.toml: "
            "backfill runs a schedule's intervals"
        )
    return schedule


def interval_of(
    project: Project, pipeline: str | None, start: str | None, end: str | None
) -> Interval | None:
    """``--interval-start``/``--interval-end`` as an interval (a date or a time without an
    offset is read in the pipeline's ``timezone``, UTC without one); None when neither is
    given. ProjectError when only one is, or a value is no ISO 8601 date or time."""
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise ProjectError("give both --interval-start and --interval-end, or neither")
    pipe = project.settings.pipelines.get(pipeline) if pipeline else None
    tz = zone_of(pipe.timezone if pipe is not None else None)
    try:
        lower, upper = as_instant(start, tz), as_instant(end, tz)
    except ValueError as exc:
        raise ProjectError(f"--interval-start/--interval-end: {exc}") from None
    if not lower < upper:
        raise ProjectError(f"--interval-end ({end}) must be after --interval-start ({start})")
    return Interval(lower, upper)


def plan_backfill(
    project: ProjectLike,
    pipeline: str,
    start: str | datetime,
    end: str | datetime,
    *,
    reprocess: str = "missing",
) -> list[Interval]:
    """Put the intervals of ``pipeline``'s schedule in ``[start, end)`` (a date means its
    midnight in the pipeline's ``timezone``) in the ledger and return those queued, oldest
    first (see the module docstring). ProjectError for a bad pipeline, range or mode."""
    proj = as_project(project)
    wanted, reopen = _wanted(proj, pipeline, start, end, reprocess)
    with Metastore.open(proj.metastore_url) as store:
        store.enqueue_intervals(pipeline, [(i.start, i.end) for i in wanted])
        starts = {i.start for i in wanted}
        if reopen:
            for rec in store.intervals(pipeline):
                if rec.interval_start in starts and rec.status in reopen:
                    store.reopen_interval(pipeline, rec.interval_start, reopen)
        queued = store.intervals(pipeline, "queued")
    return [
        Interval(r.interval_start, r.interval_end) for r in queued if r.interval_start in starts
    ]


def _wanted(
    project: Project, pipeline: str, start: str | datetime, end: str | datetime, reprocess: str
) -> tuple[list[Interval], frozenset[str]]:
    """The schedule's intervals in ``[start, end)`` and the statuses ``reprocess`` reopens."""
    schedule = schedule_for(project, pipeline)
    try:
        lower, upper = as_instant(start, schedule.tz), as_instant(end, schedule.tz)
        reopen = reopened(reprocess)
    except ValueError as exc:
        raise ProjectError(f"backfill {pipeline}: {exc}") from None
    if not lower < upper:
        raise ProjectError(f"backfill {pipeline}: --end ({end}) must be after --start ({start})")
    return in_range(schedule, lower, upper), reopen


@dataclass(frozen=True)
class SingleRun:
    """A ``--single-run`` backfill: run ``run_id`` builds ``interval`` (from the first
    claimed interval's start to the last one's end) and ``claimed`` are the ledger's
    intervals it holds, oldest first."""

    pipeline: str
    run_id: str
    interval: Interval
    claimed: tuple[Interval, ...]


def plan_single_run(
    project: ProjectLike,
    pipeline: str,
    start: str | datetime,
    end: str | datetime,
    *,
    reprocess: str = "missing",
) -> SingleRun | None:
    """Claim the range's intervals to run for one run (see the module docstring); None
    when none is left to run. ProjectError, before the ledger is touched, when a step of
    the pipeline cannot build the range in one run (or for a bad pipeline, range, mode)."""
    proj = as_project(project)
    wanted, reopen = _wanted(proj, pipeline, start, end, reprocess)
    if not wanted:
        return None
    steps = select_pipeline(proj, pipeline)
    tz = proj.settings.pipelines[pipeline].timezone
    check_single_run(proj, steps, (wanted[0].start, wanted[-1].end), tz)
    run_id = new_run_id()
    # one transaction: a scheduler sees the intervals claimed or not at all
    with Metastore.open(proj.metastore_url) as store, store.batch():
        store.enqueue_intervals(pipeline, [(i.start, i.end) for i in wanted])
        for i in wanted if reopen else ():
            store.reopen_interval(pipeline, i.start, reopen)
        claimed = tuple(i for i in wanted if store.claim_interval(pipeline, i.start, run_id))
    if not claimed:
        return None
    plan = SingleRun(pipeline, run_id, Interval(claimed[0].start, claimed[-1].end), claimed)
    try:  # the claimed span, as the range, must be whole grain units
        check_single_run(proj, steps, (plan.interval.start, plan.interval.end), tz)
    except ProjectError:
        finish_single_run(proj, plan, "interrupted")
        raise
    return plan


def select_pipeline(project: Project, pipeline: str) -> list[str]:
    """The steps a run of ``pipeline`` runs."""
    from headwater.api.project import selection

    return list(selection(project, None, None, pipeline).names)


def finish_single_run(project: ProjectLike, plan: SingleRun, status: str) -> None:
    """Finish each interval ``plan`` claimed as its run ended: ``success``, ``failed``,
    ``cancelled``; any other status (the run was stopped) puts them back to ``queued``."""
    proj = as_project(project)
    with Metastore.open(proj.metastore_url) as store, store.batch():
        for interval in plan.claimed:
            if status in ("success", "failed", "cancelled"):
                store.finish_interval(plan.pipeline, interval.start, status)
            else:
                store.requeue_interval(plan.pipeline, interval.start, plan.run_id)


def run_single(
    project: ProjectLike, plan: SingleRun, *, on_event: EventHandler | None = None
) -> RunResult:
    """Run ``plan`` here, as one run with its interval (trigger ``backfill``), and finish
    its intervals. Ctrl-C: they go back to ``queued``, the run is recorded, RunInterrupted."""
    proj = as_project(project, discover=True)
    with Metastore.open(proj.metastore_url) as store:
        store.start_run(
            plan.run_id, project=proj.name, selection=None, pipeline=plan.pipeline,
            trigger="backfill", params={"interval_start": plan.interval.start.isoformat(),
                                        "interval_end": plan.interval.end.isoformat()},
            queued=True,
        )  # fmt: skip
    try:
        result = run(
            proj, pipeline=plan.pipeline, trigger="backfill", on_event=on_event,
            run_id=plan.run_id, interval=plan.interval,
        )  # fmt: skip
    except BaseException as exc:
        finish_single_run(proj, plan, "interrupted")
        with Metastore.open(proj.metastore_url) as store:
            record = store.get_run(plan.run_id)
            if record is not None and record.status == "queued":
                stopped = isinstance(exc, KeyboardInterrupt)
                store.finish_run(plan.run_id, "interrupted" if stopped else "failed")
        raise
    finish_single_run(proj, plan, result.status)
    return result


def run_backfill(
    project: ProjectLike,
    pipeline: str,
    todo: list[Interval],
    *,
    on_event: EventHandler | None = None,
    on_start: Callable[[Interval, str], None] | None = None,
) -> Iterator[IntervalOutcome]:
    """Run each interval of ``todo`` in this process, one after another, yielding how each
    ended. An interval another claimant took meanwhile (a server) is skipped. Ctrl-C: the
    running interval goes back to ``queued``, then RunInterrupted is raised."""
    proj = as_project(project, discover=True)
    for interval in todo:
        run_id = new_run_id()
        with Metastore.open(proj.metastore_url) as store:
            if not store.claim_interval(pipeline, interval.start, run_id):
                continue  # taken by a server or another backfill meanwhile
            # recorded queued first: the ledger's run_id names a run from the start
            store.start_run(
                run_id, project=proj.name, selection=None, pipeline=pipeline,
                trigger="backfill", params={"interval_start": interval.start.isoformat(),
                                            "interval_end": interval.end.isoformat()},
                queued=True,
            )  # fmt: skip
        if on_start is not None:
            on_start(interval, run_id)
        try:
            result = run(
                proj, pipeline=pipeline, trigger="backfill", on_event=on_event,
                run_id=run_id, interval=interval,
            )  # fmt: skip
        except BaseException as exc:
            _settle(
                proj, pipeline, interval, run_id, None, stopped=isinstance(exc, KeyboardInterrupt)
            )
            raise
        _settle(proj, pipeline, interval, run_id, result.status)
        yield IntervalOutcome(interval, result.status, result.run_id)


def _settle(
    project: Project,
    pipeline: str,
    interval: Interval,
    run_id: str,
    status: str | None,
    *,
    stopped: bool = False,
) -> None:
    """Finish the claimed interval with ``status``; None (the run stopped, or could not
    start): back to ``queued``, for the next backfill or server, and a run that never left
    ``queued`` is recorded ``interrupted`` (``stopped``: Ctrl-C) or ``failed``."""
    with Metastore.open(project.metastore_url) as store:
        if status is not None:
            store.finish_interval(pipeline, interval.start, status)
            return
        store.requeue_interval(pipeline, interval.start, run_id)
        record = store.get_run(run_id)
        if record is not None and record.status == "queued":
            store.finish_run(run_id, "interrupted" if stopped else "failed")


def follow_backfill(
    project: ProjectLike, pipeline: str, todo: list[Interval], *, every: float = 0.5
) -> Iterator[IntervalOutcome]:
    """Yield each interval of ``todo`` as the server finishes it (read from the ledger
    every ``every`` seconds), until all are; one put back to ``queued`` is waited for."""
    proj = as_project(project)
    waiting = {i.start: i for i in todo}
    while waiting:
        with Metastore.open(proj.metastore_url) as store:
            records = store.intervals(pipeline)
        for rec in records:
            if rec.interval_start in waiting and rec.status in ("success", "failed", "cancelled"):
                yield IntervalOutcome(waiting.pop(rec.interval_start), rec.status, rec.run_id)
        if waiting:
            time.sleep(every)
