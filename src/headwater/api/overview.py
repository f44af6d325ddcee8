"""The project at a glance (the web UI's overview page, ``GET /api/overview``): each
pipeline with its schedule, next run, last runs and the freshness of its assets; the checks
failing now; what sits in quarantine.

One call reads the metastore with a few grouped queries (one page of runs per pipeline, one
grouped query for freshness, one for the latest checks) and, when the warehouse exists, the
quarantine counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from headwater.api.project import ProjectLike, as_project, has_warehouse, metastore, selection
from headwater.api.records import RunInfo
from headwater.errors import HeadwaterError
from headwater.metastore import Metastore
from headwater.metastore.freshness import CheckState

RUNS_SHOWN = 20  # the last runs of a pipeline shown as cells


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


@dataclass(frozen=True)
class AssetFreshness:
    """An asset and when it was last built with success (None: never)."""

    asset: str
    last_success: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {"asset": self.asset, "last_success": _iso(self.last_success)}


@dataclass(frozen=True)
class PipelineOverview:
    """One pipeline: ``schedule`` as written ("0 6 * * * Europe/Berlin", "every 15m", None
    when only run by hand), when its next scheduled run starts, its last runs (newest
    first) and its assets' freshness (stalest first)."""

    name: str
    schedule: str | None
    next_run: datetime | None
    runs: list[RunInfo]
    assets: list[AssetFreshness]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "schedule": self.schedule,
            "next_run": _iso(self.next_run),
            "runs": [r.to_json() for r in self.runs],
            "assets": [a.to_json() for a in self.assets],
        }


@dataclass(frozen=True)
class FailingCheck:
    """A check whose latest result is ``fail`` or ``error``."""

    asset: str
    check: str
    status: str
    failing: int
    message: str
    at: datetime
    run_id: str

    @classmethod
    def from_state(cls, c: CheckState) -> FailingCheck:
        return cls(c.asset, c.check_name, c.status, c.failing, c.message, c.at, c.run_id)

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "at": _iso(self.at)}


@dataclass(frozen=True)
class QuarantineCount:
    """Rows in ``quarantine.<table>`` of one source asset."""

    table: str
    rows: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Overview:
    """What :func:`overview` returns."""

    project: str
    pipelines: list[PipelineOverview]
    failing_checks: list[FailingCheck]
    quarantined: list[QuarantineCount]
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "pipelines": [p.to_json() for p in self.pipelines],
            "failing_checks": [c.to_json() for c in self.failing_checks],
            "quarantined": [q.to_json() for q in self.quarantined],
            "at": _iso(self.at),
        }


def overview(project: ProjectLike, runs_shown: int = RUNS_SHOWN) -> Overview:
    """The project at a glance (module docstring). Raises what the metastore raises."""
    proj = as_project(project)
    now = datetime.now(UTC)
    with metastore(proj) as store:
        store.mark_abandoned()
        pipelines = [
            _pipeline(proj, store, name, now, runs_shown) for name in proj.settings.pipelines
        ]
        failing = store.latest_checks({"fail", "error"})
    return Overview(
        proj.name,
        pipelines,
        [FailingCheck.from_state(c) for c in failing],
        _quarantined(proj),
        now,
    )


def _pipeline(
    proj: Any, store: Metastore, name: str, now: datetime, runs_shown: int
) -> PipelineOverview:
    from headwater.scheduling.due import next_end
    from headwater.scheduling.intervals import schedule_of

    settings = proj.settings.pipelines[name]
    sched = schedule_of(settings)
    written = None
    if settings.schedule is not None:
        written = f"{settings.schedule} {settings.timezone}"
    elif settings.every is not None:
        written = f"every {settings.every}"
    runs = store.latest_runs(name, runs_shown)  # the grid's first page, without its count
    steps = selection(proj, pipeline=name).names
    built = store.last_successes(steps)
    assets = sorted(
        (AssetFreshness(s, built.get(s)) for s in steps),
        key=lambda a: (a.last_success is not None, a.last_success or now, a.asset),
    )
    return PipelineOverview(
        name,
        written,
        next_end(sched, now) if sched is not None else None,
        [RunInfo.from_record(r) for r in runs],
        assets,
    )


def _quarantined(proj: Any) -> list[QuarantineCount]:
    """Quarantined rows per table; none when there is no warehouse yet."""
    from headwater.api.quarantines import quarantine

    if not has_warehouse(proj):
        return []
    try:
        listing = quarantine(proj)
    except HeadwaterError:  # e.g. the warehouse is busy: the page still shows the rest
        return []
    totals: dict[str, int] = {}
    for group in listing.quarantined:
        totals[group.table] = totals.get(group.table, 0) + group.rows
    return [QuarantineCount(table, rows) for table, rows in sorted(totals.items())]
