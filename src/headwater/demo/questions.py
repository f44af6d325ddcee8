"""The four business questions as SQL over the marts, and their results as :class:`Answers`.

The query text lives in ``queries/q*.sql`` (so the CLI can print it); each query reads only
``marts.*`` tables. :func:`answers_from_rows` turns the rows they return into the same
:class:`~headwater.demo.truth.Answers` the ground truth computes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from headwater.demo.dataset import FOCUS_SHADES, REGIONS
from headwater.demo.truth import Answers, top_region

__all__ = ["QUERIES_DIR", "QUESTIONS", "Question", "answers_from_rows", "run_questions"]

QUERIES_DIR = Path(__file__).parent / "queries"


@dataclass(frozen=True)
class Question:
    """One question: its id (``q1``..``q4``), text, and the SQL file answering it."""

    id: str
    text: str
    file: str
    columns: tuple[str, ...]

    @property
    def path(self) -> Path:
        return QUERIES_DIR / self.file

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


QUESTIONS: tuple[Question, ...] = (
    Question(
        "q1",
        "How many PRO FILT'R Hydrating Longwear Foundation units in shades #110, #490, #150, "
        "#160 and #255 were sold in the last quarter, per shade?",
        "q1_units_by_shade.sql",
        ("shade", "units"),
    ),
    Question(
        "q2",
        "Which region sold the most foundation products?",
        "q2_units_by_region.sql",
        ("region", "units"),
    ),
    Question(
        "q3",
        "At which hours (and weekdays) are these products bought in large volumes?",
        "q3_units_by_hour_weekday.sql",
        ("bucket_type", "bucket", "units"),
    ),
    Question(
        "q4",
        "How many customers added these products to their cart and later removed them?",
        "q4_add_then_remove.sql",
        ("customers",),
    ),
)

Rows = Iterable[Sequence[Any]]


def answers_from_rows(q1: Rows, q2: Rows, q3: Rows, q4: Rows) -> Answers:
    """Build :class:`Answers` from the rows of the four queries (as tuples, in the columns
    listed by ``QUESTIONS``). Buckets a query returns no row for count 0."""
    by_shade = dict.fromkeys(sorted(FOCUS_SHADES), 0)
    for shade, units in q1:
        by_shade[str(shade)] = int(units or 0)
    by_region = dict.fromkeys(sorted(REGIONS), 0)
    for region, units in q2:
        by_region[str(region)] = int(units or 0)
    by_hour = dict.fromkeys(range(24), 0)
    by_weekday = dict.fromkeys(range(1, 8), 0)
    for kind, bucket, units in q3:
        target = by_hour if kind == "hour" else by_weekday
        target[int(bucket)] = int(units or 0)
    q4_rows = list(q4)
    customers = int(q4_rows[0][0]) if q4_rows else 0
    return Answers(
        units_by_shade=by_shade,
        units_by_region=by_region,
        top_region=top_region(by_region),
        units_by_hour=by_hour,
        units_by_weekday=by_weekday,
        add_then_remove_customers=customers,
    )


class _Result(Protocol):
    def fetchall(self) -> list[Any]: ...


class SqlConnection(Protocol):
    """Anything with ``execute(sql).fetchall()``, e.g. a DuckDB connection."""

    def execute(self, query: str, /) -> _Result: ...


def run_questions(con: SqlConnection) -> Answers:
    """Run the four queries on ``con`` (a warehouse holding the marts) and return the answers."""
    rows = [con.execute(q.sql).fetchall() for q in QUESTIONS]
    return answers_from_rows(*rows)
