"""Project SQL (DuckDB's dialect, parsed by sqlglot) rewritten so Spark answers as DuckDB
does, where sqlglot's own translation answers differently. One small function per
construct; the golden cases (``tests/engines/golden``) prove each on the real Spark.

- cast to an integer: DuckDB rounds where Spark (ANSI) refuses or truncates: a DOUBLE or
  FLOAT half to even (``bround``), a DECIMAL or a text half away from zero (``round`` of
  the value as ``DECIMAL(38, 18)``, exact for every BIGINT). The value's type is only known
  to Spark, so the cast chooses by ``typeof``; a ``try_cast`` stays one inside too.
- day-of-week numbering: ``dayofweek(d)`` and ``extract(dow from d)`` are Spark's
  ``dayofweek(d) - 1`` (Sunday 0), ``isodow(d)`` is ``weekday(d) + 1`` (Monday 1), as BIGINT.
- ``date_diff(unit, a, b)`` counts the unit's boundaries crossed: Spark's
  ``timestampdiff`` of both ends truncated to the unit (year, month, day or hour, the
  units proven; any other is refused).
- ``date_trunc(unit, d)`` of a DATE is a TIMESTAMP, as DuckDB's (not sqlglot's ``trunc``).
- ``list_distinct(min(x, n))``, the orphan keys a relationships check samples: the ``n``
  smallest distinct values (``slice(array_sort(collect_set(x)), 1, n)``).
- ``strftime(t, format)``: Spark's ``date_format`` with the format's codes spelt as Java
  patterns (``%j`` is ``DDD``, three digits as DuckDB's); a code not in :data:`PATTERNS` or
  a format that is not a literal is refused, and so is ``strptime`` (not proven).

>>> import sqlglot
>>> tree = sqlglot.parse_one("select dayofweek(d), isodow(d), strftime(d, '%Y%m%d') from t", dialect="duckdb")
>>> rewrite(tree).sql(dialect="spark")
"SELECT CAST(DAYOFWEEK(d) - 1 AS BIGINT), CAST(WEEKDAY(d) + 1 AS BIGINT), DATE_FORMAT(d, 'yyyyMMdd') FROM t"
"""

from __future__ import annotations

import re

from sqlglot import exp

from headwater.engines.constructs import CONSTRUCTS, integer_cast
from headwater.engines.dialects import Untranslatable

#: DuckDB's strftime codes the golden cases proved -> Spark's (Java) patterns.
PATTERNS = {
    "%Y": "yyyy",
    "%m": "MM",
    "%d": "dd",
    "%H": "HH",
    "%M": "mm",
    "%S": "ss",
    "%j": "DDD",
    "%a": "EEE",
    "%A": "EEEE",
}
#: date_diff units whose boundaries a truncation to the unit counts.
_DIFF_UNITS = {"YEAR", "MONTH", "DAY", "HOUR"}  # the golden case's
_CODE = re.compile(r"%-?[A-Za-z%]")


def _refused(name: str, why: str) -> Untranslatable:
    construct = next(c for c in CONSTRUCTS if c.name == name)
    return Untranslatable(construct, "spark", why)


def _fn(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def _integer(node: exp.Expr) -> exp.Expr:
    if not integer_cast(node):
        return node
    assert isinstance(node, exp.Cast)
    value = node.this
    if isinstance(value, exp.Literal) and value.is_int:
        return node  # nothing to round
    safe = isinstance(node, exp.TryCast)
    whole = exp.DataType.build("decimal(38, 0)")

    def cast(this: exp.Expr, to: exp.DataType) -> exp.Expr:
        if safe:  # sqlglot writes TRY_CAST for Spark only when marked safe
            return exp.TryCast(this=this, to=to, safe=True)
        return exp.Cast(this=this, to=to)

    def as_(kind: str) -> exp.Expr:
        return cast(value.copy(), exp.DataType.build(kind))

    fractional = exp.In(
        this=_fn("TYPEOF", value.copy()),
        expressions=[exp.Literal.string("double"), exp.Literal.string("float")],
    )
    # both branches DECIMAL(38, 0): a DOUBLE branch would make Spark's CASE a DOUBLE
    half_even = cast(_fn("BROUND", as_("double")), whole)
    half_away = cast(exp.Round(this=as_("decimal(38, 18)")), whole)
    rounded = exp.Case(ifs=[exp.If(this=fractional, true=half_even)], default=half_away)
    return cast(rounded, node.to.copy())


def _bigint(value: exp.Expr) -> exp.Expr:
    return exp.Cast(this=value, to=exp.DataType.build("bigint"))


def _day_of_week(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.DayOfWeek | exp.DayOfWeekIso):
        iso, day = isinstance(node, exp.DayOfWeekIso), node.this
    elif isinstance(node, exp.Extract) and node.name.lower() in {"dow", "isodow", "dayofweek"}:
        iso, day = node.name.lower() == "isodow", node.expression
    else:
        return node
    if iso:
        return _bigint(exp.Add(this=_fn("WEEKDAY", day.copy()), expression=exp.Literal.number(1)))
    return _bigint(exp.Sub(this=_fn("DAYOFWEEK", day.copy()), expression=exp.Literal.number(1)))


def _date_diff(node: exp.Expr) -> exp.Expr:
    if not isinstance(node, exp.DateDiff | exp.DatetimeDiff | exp.TimestampDiff):
        return node
    unit = (node.text("unit") or "DAY").upper()
    if unit not in _DIFF_UNITS:
        raise _refused("date_diff", f"unit {unit.lower()} is not proven there")

    def truncated(value: exp.Expr) -> exp.Expr:
        return _fn("DATE_TRUNC", exp.Literal.string(unit), value.copy())

    # DuckDB's date_diff(unit, a, b) is parsed as this=b, expression=a
    start, end = truncated(node.expression), truncated(node.this)
    return _fn("TIMESTAMPDIFF", exp.var(unit), start, end)


def _date_trunc(node: exp.Expr) -> exp.Expr:
    """``date_trunc`` of a DATE is a TIMESTAMP on DuckDB; sqlglot's ``trunc`` keeps a DATE."""
    if not isinstance(node, exp.DateTrunc):
        return node
    return _fn("DATE_TRUNC", exp.Literal.string(node.text("unit").upper()), node.this.copy())


def _java_pattern(format_: str) -> str:
    parts: list[str] = []
    at = 0
    for code in _CODE.finditer(format_):
        parts.append(_quoted(format_[at : code.start()]))
        pattern = PATTERNS.get(code.group())
        if pattern is None:
            raise _refused("strftime format", f"code {code.group()} is not proven there")
        parts.append(pattern)
        at = code.end()
    parts.append(_quoted(format_[at:]))
    return "".join(parts)


def _quoted(text: str) -> str:
    """Literal text of a format as Java patterns keep it: letters and quotes quoted."""
    if not re.search(r"[A-Za-z']", text):
        return text
    return "'" + text.replace("'", "''") + "'"


def _strftime(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.StrToTime):
        raise _refused("strftime format", "strptime is not proven there")
    if not isinstance(node, exp.TimeToStr):
        return node
    format_ = node.args.get("format")
    if not isinstance(format_, exp.Literal) or not format_.is_string:
        raise _refused("strftime format", "the format must be a literal")
    pattern = exp.Literal.string(_java_pattern(format_.this))
    return _fn("DATE_FORMAT", node.this.copy(), pattern)


def _series(node: exp.Expr) -> exp.Expr:
    """``generate_series(a, b, step) AS t (x)`` in FROM (its end included) as Spark's
    ``LATERAL explode(sequence(a, b, step)) AS t(x)``: sqlglot's own is not valid there."""
    series = node.this if isinstance(node, exp.Table) else None
    if not isinstance(series, exp.GenerateSeries) or series.args.get("is_end_exclusive"):
        return node
    bounds = [series.args[k].copy() for k in ("start", "end", "step") if series.args.get(k)]
    lateral = exp.Lateral(this=_fn("EXPLODE", _fn("SEQUENCE", *bounds)))
    if node.args.get("alias"):
        lateral.set("alias", node.args["alias"].copy())
    return lateral


def _zoned(value: exp.Expr) -> bool | None:
    """Whether ``value`` is a TIMESTAMPTZ (True) or a TIMESTAMP (False) in DuckDB's terms,
    as far as its form says; None when only its column's type would."""
    if isinstance(value, exp.Cast):
        if value.to.is_type(exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ):
            return True
        naive = (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ)
        return False if value.to.is_type(*naive) else None
    if isinstance(value, exp.UnixToTime):  # epoch_ms(n): a TIMESTAMP
        return False
    if _is_timezone(value):
        inner = _zoned(value.expressions[1])
        return None if inner is None else not inner
    return None


def _is_timezone(node: exp.Expr) -> bool:
    return (
        isinstance(node, exp.Anonymous)
        and node.name.lower() == "timezone"
        and len(node.expressions) == 2
    )


def _timezone(node: exp.Expr) -> exp.Expr:
    """DuckDB's ``timezone(zone, x)``: of a TIMESTAMPTZ, its wall time in ``zone`` (a
    TIMESTAMP); of a TIMESTAMP, the instant it is in ``zone`` (a TIMESTAMPTZ). Spark has
    no such function: ``convert_timezone`` between the session's zone (Spark's TIMESTAMP
    is an instant shown in it) and ``zone``. Which one depends on ``x``'s type, so ``x``
    must show it (a cast, ``epoch_ms``, another ``timezone``)."""
    if not _is_timezone(node):
        return node
    zone, value = node.expressions
    zoned = _zoned(value)
    if zoned is None:
        raise ValueError(
            f"timezone() does not translate to spark: cast its argument ({value.sql()}) "
            "to timestamp or timestamptz, so that its type shows"
        )
    session = _fn("CURRENT_TIMEZONE")
    ntz = exp.DataType.build("timestamp_ntz", dialect="spark")
    value = _timezone(value.copy())  # a nested timezone() first (transform goes down after)
    if zoned:
        wall = exp.Cast(this=value, to=ntz)
        return _fn("CONVERT_TIMEZONE", session, zone.copy(), wall)
    instant = _fn("CONVERT_TIMEZONE", zone.copy(), session, value)
    return exp.Cast(this=instant, to=exp.DataType.build("timestamp", dialect="spark"))


def _smallest(node: exp.Expr) -> exp.Expr:
    """``list_distinct(min(x, n))`` (a relationships check's sample of orphan keys): the
    ``n`` smallest distinct values, as on PostgreSQL; Spark's ``min`` takes one argument."""
    if not (
        isinstance(node, exp.ArrayDistinct)
        and isinstance(node.this, exp.Min)
        and node.this.args.get("count") is not None
    ):
        return node
    values = _fn("ARRAY_SORT", _fn("COLLECT_SET", node.this.this.copy()))
    return _fn("SLICE", values, exp.Literal.number(1), node.this.args["count"].copy())


# the casts first: the other steps make casts to BIGINT of integers, never to be rounded
_REWRITES = (
    _integer,
    _day_of_week,
    _date_diff,
    _date_trunc,
    _strftime,
    _series,
    _timezone,
    _smallest,
)


def rewrite(tree: exp.Expr) -> exp.Expr:
    """``tree`` with each construct above rewritten for Spark; raises
    :class:`~headwater.engines.dialects.Untranslatable` for a form not proven there."""
    for step in _REWRITES:
        tree = tree.transform(step)
    return tree
