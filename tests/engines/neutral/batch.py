"""Many cases in one project, run together: a run on Spark costs seconds whatever it builds,
so the cases share runs instead of each paying its own.

Round ``r`` is one run of every case that has an ``r``-th load (its SQLite table refilled
first), selecting only those cases' sources and what is built on them: a case whose loads
are over is not loaded again. A case's interval applies to the round of its last load
(other steps ignore a run's interval).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath

from headwater.scheduling import Interval
from headwater.testing.engines import SOURCE_DB, EngineProject

from .cases import Case

CONNECTION = f'[connections.src]\nurl = "sqlite:///{SOURCE_DB}"\n'


@dataclass
class Outcome:
    """What a case's runs did: per run it took part in, its steps' statuses and errors."""

    statuses: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)


def assets(case: Case) -> set[str]:
    """The steps of ``case``: its source's table and its models (``models/SCHEMA/NAME``)."""
    models = {
        f"{PurePosixPath(p).parent.name}.{PurePosixPath(p).stem}"
        for p in case.project_files()
        if p.endswith((".sql", ".py"))
    }
    return {f"raw.{case.name}", *models}


def run_batch(project: EngineProject, cases: list[Case]) -> dict[str, Outcome]:
    """Write ``cases`` into ``project`` and run their loads round by round (see module)."""
    files = {"headwater.toml": CONNECTION + "".join(case.toml() for case in cases)}
    for case in cases:
        files.update(case.project_files())
    project.write(files)
    outcomes = {case.name: Outcome() for case in cases}
    for r in range(max(len(case.loads) for case in cases)):
        active = [case for case in cases if len(case.loads) > r]
        for case in active:
            project.source_rows(case.ddl, case.loads[r], table=case.name)
        ending = {case.interval for case in active if case.interval and len(case.loads) == r + 1}
        result = project.run(
            select=[f"source:{case.name}+" for case in active], interval=_interval(ending)
        )
        for case in active:
            mine = {name: step for name, step in result.steps.items() if name in assets(case)}
            outcomes[case.name].statuses.append({n: s.status for n, s in mine.items()})
            outcomes[case.name].errors.append({n: s.error for n, s in mine.items() if s.error})
    return outcomes


def _interval(bounds: set[tuple[str, str]]) -> Interval | None:
    if not bounds:
        return None
    if len(bounds) > 1:  # the cases' data is wrong, not the engine
        raise ValueError(f"cases ending in one run need one interval, not {sorted(bounds)}")
    start, end = (datetime.fromisoformat(day).replace(tzinfo=UTC) for day in next(iter(bounds)))
    return Interval(start, end)
