"""Parsing check declarations: the ``checks:`` list of a sidecar YAML or ``headwater.toml``.

Each item is a mapping with a ``type`` and the keys of that type, or a one-key shorthand whose
key is the type::

    checks:
      - type: not_null
        column: email
      - unique: [order_id, sku]            # shorthand: {type: unique, columns: [...]}
      - accepted_values: {column: status, values: [placed, shipped]}

Contract: :func:`parse_checks` turns such a list into a tuple of validated
:class:`~headwater.project.checks.Check` objects, each with its ``location`` (``file:line``).
Parsing is pure (no database): it validates keys, thresholds, SQL (with sqlglot, DuckDB
dialect) and regular expressions, and raises :class:`~headwater.errors.ConfigError` whose
message starts with ``file:line`` of the offending list item (or key inside it): all bad
items are reported, one line each (the first problem of each item).

This module imports only :mod:`headwater.errors`, the check model
(:mod:`headwater.project.checks`), :mod:`headwater.project.check_locator` and sqlglot, so it
may live in the ``project`` layer (the loader parses checks at project load time).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from headwater.errors import ConfigError
from headwater.project.check_locator import _Locator
from headwater.project.checks import (
    _COMMON,
    _KEYS,
    CHECK_TYPES,
    DIALECT,
    ROW_LEVEL,
    TABLE_LEVEL,
    THIS,
    Check,
    Threshold,
    default_name,
    parse_duration,
)


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
