"""Compile checks to SQL that runs inside the engine (pushdown: no table comes into Python).

Three products per check, all plain strings built by small pure functions:

- :func:`check_query` — one query over a relation returning one row
  ``(failing BIGINT, total BIGINT, sample VARCHAR)``: the failing count, the relation's row
  count and, for the checks that get it in the same pass, a JSON list of a few failing rows;
- :func:`sample_query` — for the others, a query returning that JSON list, run only when
  something fails (a ``LIMIT`` stops it early; as a subquery of the count it would scan the
  whole table again when nothing fails, and DuckDB does not decorrelate it: measured 2x to 40x);
- :func:`fail_predicate` — for row-level checks, a boolean that is TRUE exactly for the rows
  that fail (never NULL), evaluated with the checked relation aliased :data:`ROW`; quarantine
  uses it to split a staged load.

NULL semantics (as in SQL constraints): ``not_null`` is the only check a NULL value fails;
``unique`` ignores rows with a NULL key column; an ``expression`` fails only when FALSE.

>>> from headwater.quality.spec import Check
>>> fail_predicate(Check("not_null", "n", column="email"), '"raw"."customers"')
'"email" IS NULL'
>>> print(check_query(Check("not_null", "n", column="email"), "raw.customers"))
SELECT count(*) FILTER (WHERE "email" IS NULL) AS failing, count(*) AS total, NULL AS sample FROM "raw"."customers" AS _hw_r
>>> print(sample_query(Check("not_null", "n", column="email"), "raw.customers", sample_limit=2))
SELECT to_json(list(_hw_s)) FROM (SELECT * FROM "raw"."customers" AS _hw_r WHERE "email" IS NULL LIMIT 2) AS _hw_s
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from headwater.quality.spec import ROW_LEVEL, THIS, Check

ROW = "_hw_r"
"""Alias of the checked relation in predicates."""

SAMPLE_LIMIT = 5


# -- SQL text helpers ------------------------------------------------------------------------


def quote(name: str) -> str:
    """A quoted identifier.

    >>> quote('order'), quote('a"b')
    ('"order"', '"a""b"')
    """
    return '"' + name.replace('"', '""') + '"'


def relation_sql(name: str) -> str:
    """A relation name as SQL: ``schema.table`` is quoted part by part; quoted SQL is kept.

    >>> relation_sql("raw.orders"), relation_sql("_hw_new"), relation_sql('"raw"."Orders"')
    ('"raw"."orders"', '"_hw_new"', '"raw"."Orders"')
    """
    if '"' in name or "(" in name:
        return name
    return ".".join(quote(part) for part in name.split("."))


def literal(value: Any) -> str:
    """A SQL literal for a YAML/TOML scalar.

    >>> literal("it's"), literal(3), literal(2.5), literal(True), literal(dt.date(2024, 1, 31))
    ("'it''s'", '3', '2.5', 'TRUE', "'2024-01-31'")
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            return f"'{value}'::DOUBLE"
        return repr(value)
    return "'" + _text(value).replace("'", "''") + "'"


def text_literal(value: Any) -> str:
    """A scalar as a string literal (DuckDB casts it to the column's type when compared).

    >>> text_literal(1), text_literal(True), text_literal("a")
    ("'1'", "'true'", "'a'")
    """
    return "'" + _text(value).replace("'", "''") + "'"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return str(value)


# -- row predicates --------------------------------------------------------------------------


def fail_predicate(check: Check, relation: str) -> str:
    """TRUE for the rows of ``relation`` (aliased ``_hw_r``) that fail a row-level check.

    >>> from headwater.quality.spec import Check
    >>> fail_predicate(Check("accepted_values", "a", column="s", values=("x", 1)), "t")
    '"s" IS NOT NULL AND "s" NOT IN (\\'x\\', \\'1\\')'
    >>> fail_predicate(Check("range", "r", column="q", min=0, max=9, max_inclusive=False), "t")
    '"q" IS NOT NULL AND NOT coalesce(TRY_CAST("q" AS DOUBLE) >= 0 AND TRY_CAST("q" AS DOUBLE) < 9, FALSE)'
    >>> fail_predicate(Check("regex", "x", column="e", pattern="^a.+$"), "t")
    '"e" IS NOT NULL AND NOT regexp_matches(CAST("e" AS VARCHAR), \\'^a.+$\\')'
    >>> fail_predicate(Check("expression", "e", sql="a >= b"), "t")
    '(a >= b) IS FALSE'
    >>> fail_predicate(Check("relationships", "f", column="sku", to="raw.products", field="sku"), "t")
    '"sku" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "raw"."products" AS _hw_t WHERE _hw_t."sku" = _hw_r."sku")'
    >>> fail_predicate(Check("unique", "u", columns=("a", "b")), "t")
    'EXISTS (SELECT 1 FROM (SELECT "a", "b" FROM "t" GROUP BY "a", "b" HAVING count(*) > 1) AS _hw_d WHERE _hw_d."a" = _hw_r."a" AND _hw_d."b" = _hw_r."b")'
    """
    if check.type not in ROW_LEVEL:
        raise ValueError(f"{check.type} is not a row-level check")
    builder = _PREDICATES[check.type]
    return builder(check, relation_sql(relation))


def _not_null(check: Check, relation: str) -> str:
    return f"{_col(check)} IS NULL"


def _accepted_values(check: Check, relation: str) -> str:
    col = _col(check)
    values = ", ".join(text_literal(v) for v in check.values)
    return f"{col} IS NOT NULL AND {col} NOT IN ({values})"


def _range(check: Check, relation: str) -> str:
    col = _col(check)
    numeric = isinstance(check.min, int | float) or isinstance(check.max, int | float)
    value = f"TRY_CAST({col} AS DOUBLE)" if numeric else col
    bounds = []
    if check.min is not None:
        bounds.append(f"{value} {'>=' if check.min_inclusive else '>'} {literal(check.min)}")
    if check.max is not None:
        bounds.append(f"{value} {'<=' if check.max_inclusive else '<'} {literal(check.max)}")
    return f"{col} IS NOT NULL AND NOT coalesce({' AND '.join(bounds)}, FALSE)"


def _regex(check: Check, relation: str) -> str:
    col = _col(check)
    return f"{col} IS NOT NULL AND NOT regexp_matches(CAST({col} AS VARCHAR), {literal(check.pattern)})"


def _expression(check: Check, relation: str) -> str:
    return f"({check.sql}) IS FALSE"


def _relationships(check: Check, relation: str) -> str:
    col = _col(check)
    assert check.to is not None
    target = relation_sql(check.to)
    field = quote(check.field or check.column or "")
    return (
        f"{col} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {target} AS _hw_t "
        f"WHERE _hw_t.{field} = {ROW}.{col})"
    )


def _unique(check: Check, relation: str) -> str:
    cols = [quote(c) for c in check.columns]
    keys = ", ".join(cols)
    join = " AND ".join(f"_hw_d.{c} = {ROW}.{c}" for c in cols)
    return (
        f"EXISTS (SELECT 1 FROM (SELECT {keys} FROM {relation} GROUP BY {keys} "
        f"HAVING count(*) > 1) AS _hw_d WHERE {join})"
    )


_PREDICATES = {
    "not_null": _not_null,
    "accepted_values": _accepted_values,
    "range": _range,
    "regex": _regex,
    "expression": _expression,
    "relationships": _relationships,
    "unique": _unique,
}


def _col(check: Check) -> str:
    assert check.column is not None, check
    return quote(check.column)


# -- whole-check queries ---------------------------------------------------------------------


def check_query(check: Check, relation: str, *, sample_limit: int = SAMPLE_LIMIT) -> str:
    """One query returning ``failing, total, sample`` for ``check`` over ``relation``.

    ``sample`` is NULL for the checks that have a :func:`sample_query`.

    >>> from headwater.quality.spec import Check
    >>> print(check_query(Check("row_count", "rc", min=1), "t"))
    SELECT CASE WHEN count(*) < 1 THEN 1 ELSE 0 END AS failing, count(*) AS total, NULL AS sample FROM "t"
    >>> print(check_query(Check("unique", "u", columns=("id",)), "t", sample_limit=3))
    WITH _hw_d AS MATERIALIZED (SELECT "id", count(*) AS _hw_count FROM "t" WHERE "id" IS NOT NULL GROUP BY "id" HAVING count(*) > 1)
    SELECT
      (SELECT coalesce(sum(_hw_count), 0) FROM _hw_d) AS failing,
      (SELECT count(*) FROM "t") AS total,
      (SELECT to_json(list(_hw_s)) FROM (SELECT * FROM _hw_d ORDER BY _hw_count DESC LIMIT 3) AS _hw_s) AS sample
    """
    rel = relation_sql(relation)
    if check.type == "unique":
        return _unique_query(check, rel, sample_limit)
    if check.type in ROW_LEVEL:
        pred = fail_predicate(check, rel)
        return (
            f"SELECT count(*) FILTER (WHERE {pred}) AS failing, count(*) AS total, "
            f"NULL AS sample FROM {rel} AS {ROW}"
        )
    if check.type == "row_count":
        conds = []
        if check.min is not None:
            conds.append(f"count(*) < {int(check.min)}")
        if check.max is not None:
            conds.append(f"count(*) > {int(check.max)}")
        return (
            f"SELECT CASE WHEN {' OR '.join(conds)} THEN 1 ELSE 0 END AS failing, "
            f"count(*) AS total, NULL AS sample FROM {rel}"
        )
    if check.type == "freshness":
        return freshness_query(check, rel)
    if check.type == "sql":
        assert check.sql is not None
        return (
            f"SELECT (SELECT count(*) FROM ({_this(check.sql, rel)}) AS _hw_f) AS failing, "
            f"(SELECT count(*) FROM {rel}) AS total, NULL AS sample"
        )
    if check.type == "row_count_anomaly":
        return f"SELECT 0 AS failing, count(*) AS total, NULL AS sample FROM {rel}"
    raise ValueError(f"unknown check type {check.type!r}")


def sample_query(check: Check, relation: str, *, sample_limit: int = SAMPLE_LIMIT) -> str | None:
    """A query returning a JSON list of at most ``sample_limit`` failing rows (None: the
    check's :func:`check_query` already returns its sample).

    >>> from headwater.quality.spec import Check
    >>> print(sample_query(Check("sql", "s", sql="select * from {this} where a > b"), '"t"', sample_limit=2))
    SELECT to_json(list(_hw_s)) FROM (SELECT * FROM (select * from "t" where a > b) AS _hw_f LIMIT 2) AS _hw_s
    >>> sample_query(Check("row_count", "rc", min=1), "t") is None
    True
    """
    rel = relation_sql(relation)
    if check.type == "sql":
        assert check.sql is not None
        inner = f"SELECT * FROM ({_this(check.sql, rel)}) AS _hw_f"
    elif check.type == "relationships":
        # DuckDB does not stop a join early at a LIMIT (it reads every row, all columns:
        # 0.7 s on 1M rows); so find a few orphan keys on one column, then filter by them
        col = _col(check)
        keys = (
            f"(SELECT list(DISTINCT {col}) FROM (SELECT {col} FROM {rel} AS {ROW} "
            f"WHERE {fail_predicate(check, rel)} LIMIT {sample_limit}))"
        )
        inner = f"SELECT * FROM {rel} AS {ROW} WHERE list_contains({keys}, {col})"
    elif check.type in ROW_LEVEL and check.type != "unique":
        inner = f"SELECT * FROM {rel} AS {ROW} WHERE {fail_predicate(check, rel)}"
    else:
        return None
    return f"SELECT to_json(list(_hw_s)) FROM ({inner} LIMIT {sample_limit}) AS _hw_s"


def _this(sql: str, rel: str) -> str:
    """A ``sql`` check's query with ``{this}`` replaced by the relation.

    >>> _this("select * from {this} where x", '"t"')
    'select * from "t" where x'
    """
    return THIS.sub(lambda _: rel, sql)


def _unique_query(check: Check, rel: str, sample_limit: int) -> str:
    keys = ", ".join(quote(c) for c in check.columns)
    not_null = " AND ".join(f"{quote(c)} IS NOT NULL" for c in check.columns)
    return (
        f"WITH _hw_d AS MATERIALIZED (SELECT {keys}, count(*) AS _hw_count FROM {rel} "
        f"WHERE {not_null} GROUP BY {keys} HAVING count(*) > 1)\n"
        "SELECT\n"
        "  (SELECT coalesce(sum(_hw_count), 0) FROM _hw_d) AS failing,\n"
        f"  (SELECT count(*) FROM {rel}) AS total,\n"
        "  (SELECT to_json(list(_hw_s)) FROM (SELECT * FROM _hw_d ORDER BY _hw_count DESC "
        f"LIMIT {sample_limit}) AS _hw_s) AS sample"
    )


def freshness_query(check: Check, rel: str) -> str:
    """Stale when the newest value is older than ``max_age`` (or the table is empty).

    ``epoch()`` reads a naive TIMESTAMP as UTC; the column must be a DATE or a timestamp.

    >>> from headwater.quality.spec import Check
    >>> print(freshness_query(Check("freshness", "f", column="at", max_age=60.0), '"t"'))
    SELECT CASE WHEN max("at") IS NULL OR epoch(now()) - epoch(max("at")) > 60.0 THEN 1 ELSE 0 END AS failing, count(*) AS total, to_json([{'latest': CAST(max("at") AS VARCHAR), 'age_seconds': round(epoch(now()) - epoch(max("at")), 3)}]) AS sample FROM "t"
    """
    col = _col(check)
    age = f"epoch(now()) - epoch(max({col}))"
    return (
        f"SELECT CASE WHEN max({col}) IS NULL OR {age} > {float(check.max_age or 0)!r} "
        "THEN 1 ELSE 0 END AS failing, count(*) AS total, "
        f"to_json([{{'latest': CAST(max({col}) AS VARCHAR), 'age_seconds': round({age}, 3)}}]) "
        f"AS sample FROM {rel}"
    )


# -- human text ------------------------------------------------------------------------------


def reason(check: Check) -> str:
    """What a failing row (or table) is guilty of, without its values (so reasons group well).

    >>> from headwater.quality.spec import Check
    >>> reason(Check("range", "r", column="q", min=0, max=10, min_inclusive=False))
    'q is not a number in (0, 10]'
    >>> reason(Check("accepted_values", "a", column="s", values=("x", "y")))
    "s is not one of 'x', 'y'"
    >>> reason(Check("unique", "u", columns=("a", "b")))
    '(a, b) is duplicated'
    """
    t, col = check.type, check.column
    if t == "not_null":
        return f"{col} is null"
    if t == "unique":
        cols = check.columns
        return f"({', '.join(cols)}) is duplicated" if len(cols) > 1 else f"{cols[0]} is duplicated"
    if t == "accepted_values":
        shown = ", ".join(text_literal(v) for v in check.values[:10])
        more = f" (+{len(check.values) - 10} more)" if len(check.values) > 10 else ""
        return f"{col} is not one of {shown}{more}"
    if t == "relationships":
        return f"{col} has no match in {check.to}.{check.field}"
    if t == "range":
        return f"{col} {_range_text(check)}"
    if t == "regex":
        return f"{col} does not match {literal(check.pattern)}"
    if t == "expression":
        return f"fails {check.sql}"
    if t == "sql":
        return "returned by the check's query"
    if t == "row_count":
        lo = check.min if check.min is not None else 0
        hi = check.max if check.max is not None else "inf"
        return f"row count outside [{lo}, {hi}]"
    if t == "freshness":
        return f"newest {col} is older than {check.max_age_text}"
    return "row count is an outlier"


def _range_text(check: Check) -> str:
    numeric = isinstance(check.min, int | float) or isinstance(check.max, int | float)
    show = (lambda v: f"{v:g}" if isinstance(v, float) else str(v)) if numeric else literal
    what = "is not a number" if numeric else "is not"
    if check.min is not None and check.max is not None:
        left = "[" if check.min_inclusive else "("
        right = "]" if check.max_inclusive else ")"
        inside = f"in {left}{show(check.min)}, {show(check.max)}{right}"
        return (
            f"{what} {inside}"
            if numeric
            else f"is outside {left}{show(check.min)}, {show(check.max)}{right}"
        )
    if check.min is not None:
        return f"{what} {'>=' if check.min_inclusive else '>'} {show(check.min)}"
    return f"{what} {'<=' if check.max_inclusive else '<'} {show(check.max)}"
