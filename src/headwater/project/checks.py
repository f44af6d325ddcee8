"""The check model: what a declared check *is* once validated.

:class:`Check` (one validated check), :class:`Threshold` (a condition on the failing count),
the check types (:data:`CHECK_TYPES`, :data:`ROW_LEVEL`, :data:`TABLE_LEVEL`, the keys each
type takes), :func:`parse_duration`, :func:`default_name`, and the small helpers that operate
on parsed checks: :func:`validate_columns` (against a table's columns) and
:func:`resolve_references` (``relationships.to`` -> a full asset name).

Contract: pure (no database, no file I/O); imports only :mod:`headwater.errors` and, lazily,
sqlglot. Turning declarations into :class:`Check` objects is
:mod:`headwater.project.check_parser`; it imports this module, never the other way round.

>>> Threshold.parse("> 0.1%").holds(2, 1000)
True
>>> Threshold.parse(">= 5").holds(4, 1000)
False
>>> parse_duration("24 hours")
86400.0
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from typing import Any, Literal

from headwater.errors import ConfigError
from headwater.project.sql_errors import PROJECT_DIALECT

CheckType = Literal[
    "not_null",
    "unique",
    "accepted_values",
    "relationships",
    "range",
    "regex",
    "row_count",
    "freshness",
    "expression",
    "sql",
    "row_count_anomaly",
]
Severity = Literal["error", "warn"]

ROW_LEVEL: frozenset[str] = frozenset(
    {"not_null", "unique", "accepted_values", "relationships", "range", "regex", "expression"}
)
"""Checks that judge each row: they have a "row fails" predicate and can quarantine."""

TABLE_LEVEL: frozenset[str] = frozenset({"row_count", "freshness", "row_count_anomaly"})
"""Checks that judge the table as a whole: failing is 0 or 1; thresholds do not apply."""

_COMMON = frozenset({"type", "name", "severity", "error_if", "warn_if", "on_fail", "description"})
_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # type: (required keys, optional keys) besides the common ones
    "not_null": (frozenset({"column"}), frozenset()),
    "unique": (frozenset(), frozenset({"column", "columns"})),
    "accepted_values": (frozenset({"column", "values"}), frozenset()),
    "relationships": (frozenset({"column", "to"}), frozenset({"field"})),
    "range": (
        frozenset({"column"}),
        frozenset({"min", "max", "inclusive", "min_inclusive", "max_inclusive"}),
    ),
    "regex": (frozenset({"column", "pattern"}), frozenset()),
    "row_count": (frozenset(), frozenset({"min", "max"})),
    "freshness": (frozenset({"column", "max_age"}), frozenset()),
    "expression": (frozenset({"sql"}), frozenset()),
    "sql": (frozenset({"sql"}), frozenset()),
    "row_count_anomaly": (frozenset(), frozenset({"window", "max_z", "min_history"})),
}
CHECK_TYPES: tuple[str, ...] = tuple(_KEYS)

DIALECT = PROJECT_DIALECT  # check expressions are parsed as written
THIS = re.compile(r"\{\{\s*this\s*\}\}|\{this\}")
"""Placeholder for the checked relation in a ``sql`` check's query."""

_THRESHOLD = re.compile(r"^\s*(>=|<=|!=|==|=|>|<)\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$")
_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60.0),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600.0),
    **dict.fromkeys(("d", "day", "days"), 86400.0),
    **dict.fromkeys(("w", "week", "weeks"), 604800.0),
}


@dataclass(frozen=True)
class Threshold:
    """A condition on the failing count: ``> 100`` (rows) or ``> 0.1%`` (of all rows).

    >>> t = Threshold.parse("> 100")
    >>> t.holds(100, 10_000), t.holds(101, 10_000)
    (False, True)
    >>> str(Threshold.parse(">=0.5 %"))
    '>= 0.5%'
    """

    op: str
    value: float
    percent: bool = False

    @classmethod
    def parse(cls, text: Any) -> Threshold:
        """Parse ``"> 100"``, ``">= 5"``, ``"> 0.1%"``; raise ValueError when malformed."""
        if isinstance(text, bool) or not isinstance(text, str | int | float):
            raise ValueError(f"expected a condition such as '> 100' or '> 0.1%', got {text!r}")
        if isinstance(text, int | float):  # a bare number N means "> N"
            return cls(">", float(text))
        match = _THRESHOLD.match(text)
        if not match:
            raise ValueError(
                f"bad threshold {text!r}: expected an operator (>, >=, <, <=, =, !=) and a "
                "count or a percentage, e.g. '> 100' or '> 0.1%'"
            )
        op, number, pct = match.groups()
        value = float(number)
        if pct and value > 100:
            raise ValueError(f"bad threshold {text!r}: a percentage is at most 100%")
        return cls("=" if op == "==" else op, value, bool(pct))

    def holds(self, failing: int, total: int | None) -> bool:
        """Whether ``failing`` rows (of ``total``) satisfy the condition."""
        measured = float(failing)
        if self.percent:
            measured = 100.0 * failing / total if total else 0.0
        return _COMPARE[self.op](measured, self.value)

    def __str__(self) -> str:
        number = f"{self.value:g}"
        return f"{self.op} {number}{'%' if self.percent else ''}"


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "=": lambda a, b: math.isclose(a, b),
    "!=": lambda a, b: not math.isclose(a, b),
}


@dataclass(frozen=True)
class Check:
    """One declared check, validated. Unused fields keep their defaults.

    ``location`` is ``file:line`` of its declaration (for later messages).
    """

    type: str
    name: str
    severity: Severity = "error"
    error_if: Threshold | None = None
    warn_if: Threshold | None = None
    on_fail: Literal["quarantine"] | None = None
    description: str = ""
    column: str | None = None
    columns: tuple[str, ...] = ()  # unique
    values: tuple[Any, ...] = ()  # accepted_values
    to: str | None = None  # relationships: the referenced asset
    field: str | None = None  # relationships: its column (default: same as column)
    min: Any = None  # range, row_count
    max: Any = None
    min_inclusive: bool = True
    max_inclusive: bool = True
    pattern: str | None = None  # regex
    max_age: float | None = None  # freshness, seconds
    max_age_text: str | None = None
    sql: str | None = None  # expression (a boolean) or sql (a query returning failing rows)
    window: int = 10  # row_count_anomaly
    max_z: float = 3.0
    min_history: int = 3
    location: str = dc_field(default="", compare=False)

    @property
    def row_level(self) -> bool:
        return self.type in ROW_LEVEL

    @property
    def quarantines(self) -> bool:
        return self.on_fail == "quarantine"

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The columns of the checked table this check names explicitly."""
        if self.type == "unique":
            return self.columns
        return (self.column,) if self.column else ()

    @property
    def references(self) -> tuple[str, ...]:
        """Other assets this check reads (relationships): add them to the asset's deps."""
        return (self.to,) if self.to else ()


def parse_duration(text: Any) -> float:
    """Seconds in ``"24 hours"``, ``"30 min"``, ``"2d"``, ``"1 week"``.

    >>> parse_duration("30 min"), parse_duration("2d")
    (1800.0, 172800.0)
    """
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(
            f"bad duration {text!r}: expected a number and a unit (seconds, minutes, hours, "
            "days, weeks), e.g. '24 hours'"
        )
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def default_name(check_type: str, data: Mapping[str, Any]) -> str:
    """The name a check gets when it has none.

    >>> default_name("not_null", {"column": "email"})
    'not_null_email'
    >>> default_name("unique", {"columns": ["order_id", "sku"]})
    'unique_order_id_sku'
    >>> default_name("expression", {"sql": "amount >= 0"})
    'expression_amount_0'
    """
    if check_type in ("expression", "sql"):
        return _slug(f"{check_type}_{data.get('sql', '')}")
    cols = data.get("columns") or data.get("column")
    if isinstance(cols, list | tuple):
        cols = "_".join(str(c) for c in cols)
    return _slug(f"{check_type}_{cols}") if cols else check_type


def _slug(text: str) -> str:
    slug = re.sub(r"\W+", "_", text.lower()).strip("_")
    return slug[:60].rstrip("_")


def validate_columns(checks: Sequence[Check], columns: Mapping[str, str]) -> None:
    """Raise ConfigError (``file:line: check X: unknown column``) for a column not in ``columns``.

    ``columns`` maps the table's column names to their types (e.g. ``DuckDBEngine.columns``).
    Names compare case-insensitively, as in DuckDB. Columns inside ``expression`` SQL are
    checked too (best effort: names qualified by another table are skipped).
    """
    known = {c.lower() for c in columns}
    problems = []
    for check in checks:
        used = list(check.key_columns)
        if check.type == "expression" and check.sql:
            used += _expression_columns(check.sql)
        for col in used:
            if col.lower() not in known:
                close = difflib.get_close_matches(col, list(columns), n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                problems.append(
                    f"{check.location or '?'}: check {check.name}: unknown column {col!r}"
                    f"{hint}; the table has {', '.join(columns) or 'no columns'}"
                )
    if problems:
        raise ConfigError("\n".join(problems))


def resolve_references(checks: Sequence[Check], resolve: Callable[[str], str]) -> tuple[Check, ...]:
    """Replace each ``relationships.to`` by ``resolve(to)`` (e.g. ``products`` -> ``raw.products``).

    ``resolve`` raises (e.g. UnknownAssetError) for unknown names.
    """
    return tuple(replace(c, to=resolve(c.to)) if c.to else c for c in checks)


def _expression_columns(sql: str) -> list[str]:
    """Unqualified columns of an expression, outside subqueries.

    >>> _expression_columns("amount >= 0 and status in (select s from t)")
    ['amount', 'status']
    """
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, dialect=DIALECT)
    out: list[str] = []
    for col in tree.find_all(exp.Column):
        if col.table or col.find_ancestor(exp.Subquery, exp.Select):
            continue
        if col.name and col.name not in out:
            out.append(col.name)
    return out
