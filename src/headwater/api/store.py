"""The store case: the four answers of ``headwater demo`` (:mod:`headwater.demo.questions`)
read from a project's warehouse through the query path (:func:`headwater.api.query`), as
the web UI's store page charts them and ``GET /api/store`` returns them.

A project is the store demo when every ``marts.*`` table the four queries read is one of
its assets (:func:`is_store_demo`): the demo's own folder, or a copy of it, whatever its
name or databases. The answers are read anew on each call, so each run that rebuilds the
marts refreshes them; ``run_id`` / ``finished_at`` name the newest finished run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from headwater.api.history import query, runs
from headwater.api.project import ProjectLike, as_project

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MART = re.compile(r"\bmarts\.(\w+)", re.IGNORECASE)


def demo_marts() -> set[str]:
    """The ``marts.*`` tables the demo's four queries read."""
    from headwater.demo.questions import QUESTIONS

    return {f"marts.{m.lower()}" for q in QUESTIONS for m in _MART.findall(q.sql)}


def is_store_demo(project: ProjectLike) -> bool:
    """Whether ``project`` holds every mart the demo's questions read."""
    names = {a.name for a in as_project(project).graph}
    return demo_marts() <= names


@dataclass(frozen=True)
class StoreAnswers:
    """The four answers (as ``headwater demo`` prints them), each ready to chart:
    ``units_by_shade`` (q1), ``units_by_region`` and ``top_region`` (q2), ``units_by_hour``
    (0-23) and ``units_by_weekday`` (1 = Mon .. 7) (q3), ``add_then_remove_customers`` (q4);
    ``questions``: each question's id and text; ``run_id`` / ``finished_at``: the newest
    finished run, not a check run (None before any among the last 20)."""

    questions: list[tuple[str, str]]
    units_by_shade: dict[str, int]
    units_by_region: dict[str, int]
    top_region: str | None
    units_by_hour: dict[int, int]
    units_by_weekday: dict[int, int]
    add_then_remove_customers: int
    run_id: str | None
    finished_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "questions": [{"id": i, "text": t} for i, t in self.questions],
            "units_by_shade": self.units_by_shade,
            "units_by_region": self.units_by_region,
            "top_region": self.top_region,
            "units_by_hour": {str(h): n for h, n in self.units_by_hour.items()},
            "units_by_weekday": {WEEKDAYS[d - 1]: n for d, n in self.units_by_weekday.items()},
            "add_then_remove_customers": self.add_then_remove_customers,
            "run_id": self.run_id,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def store_answers(project: ProjectLike) -> StoreAnswers:
    """The four answers from the warehouse as it is now. Raises as :func:`query` (e.g.
    EngineError while the marts are not built yet)."""
    from headwater.demo.questions import QUESTIONS, answers_from_rows

    proj = as_project(project)
    rows = [query(proj, q.sql).rows for q in QUESTIONS]
    got = answers_from_rows(*rows)
    # a check run rebuilds nothing: the answers are as of the newest finished run
    built = (r for r in runs(proj, 20) if r.finished_at is not None and r.kind != "check")
    latest = next(built, None)
    return StoreAnswers(
        [(q.id, q.text) for q in QUESTIONS],
        dict(got.units_by_shade),
        dict(got.units_by_region),
        got.top_region,
        dict(got.units_by_hour),
        dict(got.units_by_weekday),
        got.add_then_remove_customers,
        latest.run_id if latest else None,
        latest.finished_at if latest else None,
    )
