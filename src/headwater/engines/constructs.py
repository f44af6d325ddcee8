"""The SQL constructs whose meaning differs between engines, and where each is proven safe.

sqlglot turns most of DuckDB's SQL into valid SQL of another dialect, but valid is not the
same answer: Spark numbers the days of the week 1-7 from Sunday where DuckDB says 0-6,
``list(x ORDER BY y)`` becomes ``collect_list(x)`` and loses its order, ``QUALIFY`` with
``SELECT *`` becomes a subquery whose helper column leaks into the answer, casts to an
integer round on DuckDB and truncate elsewhere, ``date_diff`` counts boundaries on one
engine and elapsed time on another. Each such construct is named here with how to find it
in a parsed statement; a target engine may run it only once the golden tests
(``tests/engines/golden``) proved, on the real engine, that it answers as DuckDB does: that
engine's name goes into :data:`VERIFIED` for the construct. Anything else is refused when
the project loads (:mod:`headwater.engines.dialects`).

>>> import sqlglot
>>> tree = sqlglot.parse_one("select * from t qualify row_number() over () = 1", dialect="duckdb")
>>> [c.name for c in found(tree)]
['QUALIFY with *']
>>> unverified(tree, "postgres")[0].name
'QUALIFY with *'
>>> unverified(tree, "duckdb")
[]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from headwater.project.sql_errors import PROJECT_DIALECT

_INTEGERS = (
    exp.DataType.Type.TINYINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
    exp.DataType.Type.MEDIUMINT,
    exp.DataType.Type.INT128,
    exp.DataType.Type.UTINYINT,
    exp.DataType.Type.USMALLINT,
    exp.DataType.Type.UINT,
    exp.DataType.Type.UBIGINT,
    exp.DataType.Type.UINT128,
)


@dataclass(frozen=True)
class Construct:
    """A construct as errors and docs name it, how to recognise one of its nodes, and a
    pattern finding it in the SQL text (to point at its line)."""

    name: str
    matches: Callable[[exp.Expr], bool]
    pattern: re.Pattern[str]


def _day_of_week(node: exp.Expr) -> bool:
    if isinstance(node, exp.DayOfWeek | exp.DayOfWeekIso):
        return True
    return isinstance(node, exp.Extract) and node.name.lower() in {"dow", "isodow", "dayofweek"}


def integer_cast(node: exp.Expr) -> bool:
    """Whether ``node`` casts (or try-casts) to an integer type."""
    return isinstance(node, exp.Cast) and node.to.is_type(*_INTEGERS)


def _ordered_list(node: exp.Expr) -> bool:
    return isinstance(node, exp.ArrayAgg | exp.GroupConcat) and node.find(exp.Order) is not None


def _qualify_star(node: exp.Expr) -> bool:
    return (
        isinstance(node, exp.Select)
        and node.args.get("qualify") is not None
        and any(isinstance(e, exp.Star) for e in node.expressions)
    )


def _kinds(*classes: type[exp.Expression]) -> Callable[[exp.Expr], bool]:
    return lambda node: isinstance(node, classes)


def _words(*words: str) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(words) + r")\b", re.I)


CONSTRUCTS: tuple[Construct, ...] = (
    Construct("day-of-week numbering", _day_of_week, _words("dayofweek", "isodow", "dow")),
    Construct(
        "date_diff",
        _kinds(exp.DateDiff, exp.DatetimeDiff, exp.TimestampDiff),
        _words("date_diff", "datediff", "datesub"),
    ),
    Construct("cast to an integer", integer_cast, re.compile(r"::|\b(try_)?cast\b", re.I)),
    Construct("ordered list aggregate", _ordered_list, _words("list", "array_agg", "string_agg")),
    Construct("QUALIFY with *", _qualify_star, _words("qualify")),
    Construct("date_trunc", _kinds(exp.DateTrunc, exp.TimestampTrunc), _words("date_trunc")),
    Construct(
        "regular expression",
        _kinds(exp.RegexpLike, exp.RegexpExtract, exp.RegexpReplace, exp.RegexpSplit),
        _words(r"regexp_\w+"),
    ),
    Construct(
        "strftime format", _kinds(exp.TimeToStr, exp.StrToTime), _words("strftime", "strptime")
    ),
)

#: Target dialect -> the constructs its golden tests proved answer as DuckDB's do. The
#: project's own dialect needs no entry: nothing is translated for it.
VERIFIED: dict[str, frozenset[str]] = {
    # QUALIFY with * stays refused: without QUALIFY the helper column leaks into "*"
    "postgres": frozenset(
        {
            "day-of-week numbering",
            "date_diff",
            "cast to an integer",
            "ordered list aggregate",
            "date_trunc",
            "regular expression",
            "strftime format",
        }
    ),
    # the rewrites of headwater.engines.spark.rewrite make these answer as DuckDB's
    "spark": frozenset(
        {
            "day-of-week numbering",
            "date_diff",
            "cast to an integer",
            "date_trunc",
            "strftime format",
        }
    ),
}


def found(tree: exp.Expression) -> list[Construct]:
    """The constructs used in ``tree``, in :data:`CONSTRUCTS` order."""
    nodes = list(tree.walk())
    return [c for c in CONSTRUCTS if any(c.matches(n) for n in nodes)]


def unverified(tree: exp.Expression, target: str) -> list[Construct]:
    """The constructs of ``tree`` not proven to answer on ``target`` as on DuckDB."""
    if target == PROJECT_DIALECT:
        return []
    proven = VERIFIED.get(target, frozenset())
    return [c for c in found(tree) if c.name not in proven]
