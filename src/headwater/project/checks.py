"""Declaring checks: parse the ``checks:`` list of a sidecar YAML or ``headwater.toml``.

Each item is a mapping with a ``type`` and the keys of that type, or a one-key shorthand whose
key is the type::

    checks:
      - type: not_null
        column: email
      - unique: [order_id, sku]            # shorthand: {type: unique, columns: [...]}
      - accepted_values: {column: status, values: [placed, shipped]}

Parsing is pure (no database): it validates keys, thresholds, SQL (with sqlglot, DuckDB
dialect) and regular expressions, and raises :class:`~headwater.errors.ConfigError` whose
message starts with ``file:line`` of the offending list item (or key inside it).

This module imports only :mod:`headwater.config`, :mod:`headwater.errors`, sqlglot and PyYAML,
so it may live in the ``project`` layer (the loader parses checks at project load time).

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
from pathlib import Path
from typing import Any, Literal

from headwater.errors import ConfigError

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

DIALECT = "duckdb"
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


# -- parsing -----------------------------------------------------------------------------------


def parse_checks(
    items: Any,
    *,
    path: Path,
    text: str,
    key: Sequence[str | int] = ("checks",),
    first_line: int = 1,
    asset: str | None = None,
    quarantine_allowed: bool = False,
) -> tuple[Check, ...]:
    """Validate the list found at ``key`` of the file ``path`` (whose text is ``text``).

    - a sidecar YAML: ``key=("checks",)``;
    - a header comment: the header's YAML as ``text`` and ``first_line`` its first line;
    - ``headwater.toml``: ``key=("sources", "<name>", "checks")`` (or with
      ``"table_options", "<table>"`` in between); the format follows the ``.toml`` suffix.

    ``quarantine_allowed`` is True for source assets: only they may say ``on_fail: quarantine``.
    Every problem is reported (one line each), each line starting with ``file:line``.
    """
    locate = _Locator(path, text, tuple(key), first_line)
    what = f" of {asset}" if asset else ""
    if items is None:
        return ()
    if not isinstance(items, list):
        raise ConfigError(f"{path}:{locate.item(None)}: checks{what}: expected a list of checks")
    problems: list[str] = []
    checks: list[Check] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        try:
            check = _parse_one(item, index, quarantine_allowed)
        except _Invalid as bad:
            label = bad.name or f"#{index + 1}"
            problems.append(f"{path}:{locate.item(index, bad.key)}: check {label}{what}: {bad}")
            continue
        line = locate.item(index)
        if check.name in seen:
            problems.append(
                f"{path}:{line}: check {check.name}{what}: duplicate name (also item "
                f"#{seen[check.name] + 1}); give one of them a `name`"
            )
            continue
        seen[check.name] = index
        checks.append(replace(check, location=f"{path}:{line}"))
    if problems:
        raise ConfigError("\n".join(problems))
    return tuple(checks)


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


class _Invalid(Exception):
    def __init__(self, message: str, *, key: str | None = None, name: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.name = name


def _normalize(item: Any) -> dict[str, Any]:
    """A canonical mapping with ``type``: the shorthand ``{not_null: email}`` is expanded."""
    if not isinstance(item, dict):
        raise _Invalid(f"expected a mapping with a `type`, got {type(item).__name__} {item!r}")
    if "type" in item:
        return dict(item)
    shorthand = [k for k in item if k in _KEYS]
    if len(shorthand) != 1:
        raise _Invalid(
            "missing `type` (one of " + ", ".join(CHECK_TYPES) + ")",
            name=item.get("name") if isinstance(item.get("name"), str) else None,
        )
    check_type = shorthand[0]
    data = {k: v for k, v in item.items() if k != check_type}
    value = item[check_type]
    if isinstance(value, dict):
        data.update(value)
    elif isinstance(value, list):
        data["columns" if check_type == "unique" else "values"] = value
    elif isinstance(value, str) and check_type in ("expression", "sql"):
        data["sql"] = value
    elif isinstance(value, str):
        data["column"] = value
    elif value is not None:
        raise _Invalid(f"`{check_type}: {value!r}`: expected a column name, a list or a mapping")
    data["type"] = check_type
    return data


def _parse_one(item: Any, index: int, quarantine_allowed: bool) -> Check:
    data = _normalize(item)
    check_type = data["type"]
    raw_name = data.get("name")
    name_hint = raw_name if isinstance(raw_name, str) else None
    if not isinstance(check_type, str) or check_type not in _KEYS:
        close = difflib.get_close_matches(str(check_type), CHECK_TYPES, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise _Invalid(
            f"unknown check type {check_type!r}{hint}; expected one of {', '.join(CHECK_TYPES)}",
            key="type",
            name=name_hint,
        )
    required, optional = _KEYS[check_type]
    unknown = sorted(set(data) - required - optional - _COMMON)
    if unknown:
        allowed = sorted((required | optional | _COMMON) - {"type"})
        close = difflib.get_close_matches(unknown[0], allowed, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise _Invalid(
            f"unknown key {unknown[0]!r} for a {check_type} check{hint}; allowed: {', '.join(allowed)}",
            key=unknown[0],
            name=name_hint,
        )
    missing = sorted(required - set(data))
    if check_type == "unique" and not (data.get("column") or data.get("columns")):
        missing = ["columns"]
    if missing:
        raise _Invalid(f"a {check_type} check needs `{missing[0]}`", name=name_hint)

    name = raw_name if raw_name is not None else default_name(check_type, data)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][\w.\-]*", name):
        raise _Invalid(
            f"bad name {name!r}: use letters, digits, _ . - (a check name must not contain ',')",
            key="name",
        )

    def bad(message: str, key: str) -> _Invalid:
        return _Invalid(message, key=key, name=name)

    kw: dict[str, Any] = {"type": check_type, "name": name}
    severity = data.get("severity", "error")
    if severity not in ("error", "warn"):
        raise bad(f"severity must be 'error' or 'warn', not {severity!r}", "severity")
    kw["severity"] = severity
    for key in ("error_if", "warn_if"):
        if key in data:
            if check_type in TABLE_LEVEL:
                raise bad(f"`{key}` does not apply to a {check_type} check (it passes or not)", key)
            try:
                kw[key] = Threshold.parse(data[key])
            except ValueError as exc:
                raise bad(str(exc), key) from None
    if severity == "warn" and "error_if" in kw:
        raise bad("`error_if` contradicts `severity: warn` (use warn_if)", "error_if")
    on_fail = data.get("on_fail")
    if on_fail is not None:
        if on_fail != "quarantine":
            raise bad(f"on_fail must be 'quarantine', not {on_fail!r}", "on_fail")
        if check_type not in ROW_LEVEL:
            raise bad(
                f"on_fail: quarantine needs a row-level check ({', '.join(sorted(ROW_LEVEL))}); "
                f"{check_type} judges the whole table",
                "on_fail",
            )
        if not quarantine_allowed:
            raise bad(
                "on_fail: quarantine is only for source assets (rows as they load)", "on_fail"
            )
        kw["on_fail"] = "quarantine"
    if "description" in data:
        kw["description"] = str(data["description"])

    for key in ("column", "to", "field"):
        if key in data:
            kw[key] = _identifier(data[key], key, bad)
    if check_type == "unique":
        cols = data.get("columns", data.get("column"))
        cols = [cols] if isinstance(cols, str) else cols
        if not isinstance(cols, list) or not cols:
            raise bad("`columns` must be a column name or a non-empty list of names", "columns")
        kw["columns"] = tuple(_identifier(c, "columns", bad) for c in cols)
        kw.pop("column", None)
    _parse_specific(check_type, data, kw, bad)
    return Check(**kw)


def _parse_specific(
    check_type: str, data: dict[str, Any], kw: dict[str, Any], bad: Callable[[str, str], _Invalid]
) -> None:
    if check_type == "accepted_values":
        values = data["values"]
        if not isinstance(values, list) or not values:
            raise bad("`values` must be a non-empty list", "values")
        for v in values:
            if v is None:
                raise bad(
                    "`values` cannot contain null (nulls pass; add a not_null check)", "values"
                )
            if isinstance(v, dict | list):
                raise bad(f"`values` must hold scalars, not {v!r}", "values")
        kw["values"] = tuple(values)
    elif check_type == "relationships":
        kw.setdefault("field", kw["column"])
    elif check_type == "range":
        _parse_range(data, kw, bad)
    elif check_type == "row_count":
        if data.get("min") is None and data.get("max") is None:
            raise bad("a row_count check needs `min` or `max`", "min")
        for key in ("min", "max"):
            value = data.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise bad(f"`{key}` must be a whole number of rows, not {value!r}", key)
            if value is not None and value < 0:
                raise bad(f"`{key}` must not be negative", key)
            kw[key] = value
        if kw["min"] is not None and kw["max"] is not None and kw["min"] > kw["max"]:
            raise bad(f"min {kw['min']} is greater than max {kw['max']}", "min")
    elif check_type == "regex":
        pattern = data["pattern"]
        if not isinstance(pattern, str) or not pattern:
            raise bad("`pattern` must be a non-empty string", "pattern")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise bad(f"invalid regular expression {pattern!r}: {exc}", "pattern") from None
        kw["pattern"] = pattern
    elif check_type == "freshness":
        try:
            kw["max_age"] = parse_duration(data["max_age"])
        except ValueError as exc:
            raise bad(str(exc), "max_age") from None
        kw["max_age_text"] = str(data["max_age"]).strip()
    elif check_type == "expression":
        kw["sql"] = _valid_expression(data["sql"], bad)
    elif check_type == "sql":
        kw["sql"] = _valid_query(data["sql"], bad)
    elif check_type == "row_count_anomaly":
        for key in ("window", "min_history"):
            if key in data:
                value = data[key]
                if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                    raise bad(f"`{key}` must be a whole number of runs >= 2, not {value!r}", key)
                kw[key] = value
        if "max_z" in data:
            value = data["max_z"]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise bad(f"`max_z` must be a positive number, not {value!r}", "max_z")
            kw["max_z"] = float(value)
        if kw.get("min_history", 3) > kw.get("window", 10):
            raise bad("`min_history` is larger than `window`", "min_history")


def _parse_range(
    data: dict[str, Any], kw: dict[str, Any], bad: Callable[[str, str], _Invalid]
) -> None:
    lo, hi = data.get("min"), data.get("max")
    if lo is None and hi is None:
        raise bad("a range check needs `min` or `max`", "min")
    for key, value in (("min", lo), ("max", hi)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float | str)
        ):
            raise bad(
                f"`{key}` must be a number or a string (a date, a timestamp), not {value!r}", key
            )
    numeric = [isinstance(v, int | float) for v in (lo, hi) if v is not None]
    if len(set(numeric)) > 1:
        raise bad("`min` and `max` must both be numbers or both be strings", "max")
    if lo is not None and hi is not None and lo > hi:
        raise bad(f"min {lo!r} is greater than max {hi!r}", "min")
    inclusive = data.get("inclusive", True)
    for key in ("inclusive", "min_inclusive", "max_inclusive"):
        if key in data and not isinstance(data[key], bool):
            raise bad(f"`{key}` must be true or false", key)
    kw["min"], kw["max"] = lo, hi
    kw["min_inclusive"] = data.get("min_inclusive", inclusive)
    kw["max_inclusive"] = data.get("max_inclusive", inclusive)


def _identifier(value: Any, key: str, bad: Callable[[str, str], _Invalid]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad(f"`{key}` must be a non-empty name, not {value!r}", key)
    return value.strip()


def _sql_error(exc: Exception, sql: str, offset: int) -> str:
    errors = getattr(exc, "errors", None) or [{}]
    err = errors[0]
    description = err.get("description") or str(exc).splitlines()[0]
    col = err.get("col")
    near = f" (near {err['highlight']!r})" if err.get("highlight") else ""
    at = f" at column {max(1, col - offset)}" if isinstance(col, int) else ""
    return f"invalid SQL {sql!r}{at}: {description}{near}"


def _valid_expression(sql: Any, bad: Callable[[str, str], _Invalid]) -> str:
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    if not isinstance(sql, str) or not sql.strip():
        raise bad("`sql` must be a boolean SQL expression such as 'amount >= 0'", "sql")
    text = sql.strip().rstrip(";").strip()
    prefix = "select 1 from _hw_r where "
    try:
        statements = [s for s in sqlglot.parse(prefix + "(" + text + ")", dialect=DIALECT) if s]
    except (ParseError, TokenError) as exc:
        raise bad(_sql_error(exc, text, len(prefix) + 1), "sql") from None
    if len(statements) != 1:
        raise bad(f"invalid SQL {text!r}: expected one boolean expression", "sql")
    return text


def _valid_query(sql: Any, bad: Callable[[str, str], _Invalid]) -> str:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    if not isinstance(sql, str) or not sql.strip():
        raise bad("`sql` must be a SELECT returning the failing rows", "sql")
    text = sql.strip().rstrip(";").strip()
    try:
        statements = [
            s for s in sqlglot.parse(THIS.sub("_hw_this", text), dialect=DIALECT) if s is not None
        ]
    except (ParseError, TokenError) as exc:
        raise bad(_sql_error(exc, text, 0), "sql") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise bad(f"invalid SQL {text!r}: expected one SELECT returning the failing rows", "sql")
    return text


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


# -- locating items in the file ------------------------------------------------------------


class _Locator:
    """Line numbers of the items of a list of checks (and of keys inside them); best effort."""

    def __init__(self, path: Path, text: str, key: tuple[str | int, ...], first_line: int) -> None:
        self.text, self.key, self.offset = text, key, first_line - 1
        self.toml = path.suffix == ".toml"
        self._yaml_node: Any = None
        self._yaml_done = False

    def item(self, index: int | None, field: str | None = None) -> int:
        line = self._toml(index, field) if self.toml else self._yaml(index, field)
        return (line or 1) + (0 if self.toml else self.offset)

    # YAML: positions from the composed node tree
    def _yaml(self, index: int | None, field: str | None) -> int | None:
        if not self._yaml_done:
            self._yaml_done = True
            try:
                import yaml

                node = yaml.compose(self.text, Loader=yaml.SafeLoader)
            except Exception:
                node = None
            self._yaml_node = node
        node = self._yaml_node
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in self.key:
            child = _yaml_child(node, part)
            if child is None:
                return line
            key_node, node = child
            line = (key_node or node).start_mark.line + 1
        if index is None:
            return line
        child = _yaml_child(node, index)
        if child is None:
            return line
        node = child[1]
        line = node.start_mark.line + 1
        if field is not None:
            sub = _yaml_child(node, field)
            if sub is None and node.tag.endswith(":map") and len(node.value) == 1:
                sub = _yaml_child(node.value[0][1], field)  # shorthand {type: {...}}
            if sub is not None:
                line = (sub[0] or sub[1]).start_mark.line + 1
        return line

    # TOML: [[a.b.checks]] headers, or an inline `checks = [{...}, ...]`
    def _toml(self, index: int | None, field: str | None) -> int | None:
        from headwater.config.textfile import locate_key

        lines = self.text.splitlines()
        header = re.compile(
            r"^\s*\[\[\s*" + r"\s*\.\s*".join(_key_re(str(k)) for k in self.key) + r"\s*\]\]"
        )
        starts = [n for n, ln in enumerate(lines, start=1) if header.match(ln)]
        if starts:
            if index is None or index >= len(starts):
                return starts[0]
            line = starts[index]
            if field is not None:
                key_re = re.compile(r"^\s*" + _key_re(field) + r"\s*=")
                for n in range(line, len(lines)):
                    if lines[n].lstrip().startswith("["):
                        break
                    if key_re.match(lines[n]):
                        return n + 1
            return line
        line = locate_key(self.text, self.key)
        if index is None:
            return line
        return _inline_item_line(lines, line, index) or line


def _yaml_child(node: Any, part: str | int) -> tuple[Any, Any] | None:
    if isinstance(part, int):
        if node.tag.endswith(":seq") and 0 <= part < len(node.value):
            return None, node.value[part]
        return None
    if node.tag.endswith(":map"):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == part:
                return key_node, value_node
    return None


def _inline_item_line(lines: list[str], start: int, index: int) -> int | None:
    """Line of the ``index``-th ``{`` at depth 1 of the array opened on line ``start``."""
    depth, count, quote = 0, -1, ""
    for n in range(start - 1, len(lines)):
        text = lines[n]
        begin = text.find("=") + 1 if n == start - 1 else 0
        for ch in text[begin:]:
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            elif ch in "[{":
                if ch == "{" and depth == 1:
                    count += 1
                    if count == index:
                        return n + 1
                depth += 1
            elif ch in "]}":
                depth -= 1
                if depth == 0:
                    return None
    return None


def _key_re(key: str) -> str:
    return r"""(?:"|')?""" + re.escape(key) + r"""(?:"|')?"""
