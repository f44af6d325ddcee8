"""The runs grid: runs as columns (newest first), steps as rows, each cell a step's status,
attempts and duration (as Airflow's grid). :func:`grid` reads one page with three
set-based metastore queries (the page of runs, how many match, their steps), whatever
the page's size: 1,000 runs of a 100-step pipeline are one page the web UI renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from headwater.api.grid_memo import FinishedCells
from headwater.api.project import ProjectLike, as_project, metastore
from headwater.api.records import RunInfo
from headwater.errors import HeadwaterError
from headwater.metastore import RUN_STATUSES

DEFAULT_PAGE = 100
MAX_PAGE = 1000

# the steps of finished runs, read once per process (why it is safe: grid_memo's docstring)
_FINISHED = FinishedCells()


GridCell = tuple[str, int, float | None]
"""One step of one run: ``(status, attempts, seconds)``, seconds None until it ends. A
plain tuple: a page holds 100,000 of them (a named tuple costs twice the time to make)."""


@dataclass(frozen=True)
class GridPage:
    """One page of the runs grid. ``runs``: the columns, newest first; ``steps``: the rows,
    in the order the runs planned them (dependency order; the longest plan first), then
    steps no plan names by name; ``cells[run_id][step]``: absent when that run had no such step. ``total``:
    runs matching the filter over all pages; ``offset``/``limit``: this page's place."""

    runs: list[RunInfo]
    steps: list[str]
    cells: dict[str, dict[str, GridCell]]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        """Whether older matching runs follow this page."""
        return self.offset + len(self.runs) < self.total

    def to_json(self) -> dict[str, Any]:
        """Compact: ``cells`` is one list per run (in ``runs`` order) holding, per step (in
        ``steps`` order), ``[status, attempts, seconds]`` or null: 100,000 cells stay a few
        megabytes."""
        return {
            "runs": [r.to_json() for r in self.runs],
            "steps": self.steps,
            # a GridCell is a tuple: json.dumps writes it as a list
            "cells": [[self.cells[r.run_id].get(s) for s in self.steps] for r in self.runs],
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
            "has_more": self.has_more,
        }


def grid(
    project: ProjectLike,
    *,
    pipeline: str | None = None,
    status: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = DEFAULT_PAGE,
    offset: int = 0,
) -> GridPage:
    """One page of the runs grid: runs of ``pipeline`` with run ``status`` started on the
    days ``since`` to ``until`` (both included, UTC), newest first, ``limit`` (at most
    :data:`MAX_PAGE`) from ``offset``. Runs whose process died are marked ``abandoned``
    first, as every reader of the history does. HeadwaterError (exit 1) for an unknown
    status, a limit out of range or a negative offset."""
    from headwater.metastore.run_grid import RunFilter

    if status is not None and status not in RUN_STATUSES:
        have = ", ".join(sorted(RUN_STATUSES))
        raise HeadwaterError(f"unknown run status {status!r} (have: {have})")
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise HeadwaterError(f"limit must be 1 to {MAX_PAGE} and offset at least 0")
    where = RunFilter(pipeline, status, _day_start(since), _day_start(until, after=True))
    proj = as_project(project)
    where_kept = proj.metastore_url
    with metastore(proj) as store:
        store.mark_abandoned()
        records, total = store.grid_runs(where, limit=limit, offset=offset)
        kept = _FINISHED.take(where_kept, records)
        rows = store.grid_cells([r.run_id for r in records if r.run_id not in kept])
    cells: dict[str, dict[str, GridCell]] = {r.run_id: kept.get(r.run_id, {}) for r in records}
    for run_id, step, step_status, attempts, seconds in rows:
        cells[run_id][step] = (step_status, attempts, seconds)
    for record in records:
        if record.run_id not in kept:
            _FINISHED.keep(where_kept, record, cells[record.run_id])
    plans = [r.params.get("steps") for r in records]
    steps = _step_order([p if isinstance(p, list) else [] for p in plans], cells)
    runs = [RunInfo.from_record(r) for r in records]
    return GridPage(runs, steps, cells, total, offset, limit)


def pipelines(project: ProjectLike) -> list[str]:
    """The pipelines of ``headwater.toml`` and those recorded with a run, sorted: the
    grid's pipeline filter offers them."""
    proj = as_project(project)
    with metastore(proj) as store:
        recorded = store.pipelines()
    return sorted(set(recorded) | set(proj.settings.pipelines))


def _step_order(plans: list[list[Any]], cells: dict[str, dict[str, GridCell]]) -> list[str]:
    """Steps as the runs planned them, the longest plan first, then the newest (each plan
    is in dependency order, so the rows read top-down like the graph), then any step no
    plan names."""
    seen: dict[str, None] = {}
    distinct = dict.fromkeys(tuple(p) for p in plans)  # runs of a pipeline share a plan
    # the longest plans first (newest first among equals): a retry's few steps then sit
    # where the whole run has them, not on top
    for plan in sorted(distinct, key=len, reverse=True):
        for name in plan:
            if isinstance(name, str):
                seen.setdefault(name)
    present = {step for by_step in cells.values() for step in by_step}
    ordered = [s for s in seen if s in present]
    return ordered + sorted(present - seen.keys())


def _day_start(day: date | None, *, after: bool = False) -> datetime | None:
    """Midnight UTC of ``day`` (``after``: of the day after, an exclusive end)."""
    if day is None:
        return None
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start + timedelta(days=1) if after else start


__all__ = ["DEFAULT_PAGE", "MAX_PAGE", "GridCell", "GridPage", "grid", "pipelines"]
