"""Project SQL (DuckDB's dialect, parsed by sqlglot) rewritten so PostgreSQL answers as
DuckDB does, where sqlglot's own translation is not valid there or answers differently.
One small function per construct; the golden cases (``tests/engines/golden``) prove each.

- day-of-week numbering: ``dayofweek(d)`` -> ``extract(dow from d)`` (Sunday 0, as
  DuckDB), ``isodow(d)`` -> ``extract(isodow from d)`` (Monday 1 to Sunday 7), as BIGINT.
- ``regexp_extract(s, p, g)`` -> ``coalesce((regexp_match(s, p))[g], '')``: DuckDB gives
  ``''`` when nothing matches, PostgreSQL's ``regexp_match`` NULL; group 0 (the whole
  match) wraps the pattern in a group.

>>> import sqlglot
>>> tree = sqlglot.parse_one("select dayofweek(d), regexp_extract(s, '(a)b', 1) from t", dialect="duckdb")
>>> rewrite(tree).sql(dialect="postgres")
"SELECT CAST(EXTRACT(DOW FROM d) AS BIGINT), COALESCE((REGEXP_MATCH(s, '(a)b'))[1], '') FROM t"
"""

from __future__ import annotations

from sqlglot import exp


def _day_of_week(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.DayOfWeek | exp.DayOfWeekIso):
        part = "ISODOW" if isinstance(node, exp.DayOfWeekIso) else "DOW"
        extract = exp.Extract(this=exp.var(part), expression=node.this.copy())
        return exp.cast(extract, exp.DataType.build("bigint"))
    if isinstance(node, exp.Extract) and node.name.lower() in {"dow", "isodow", "dayofweek"}:
        part = "ISODOW" if node.name.lower() == "isodow" else "DOW"
        extract = exp.Extract(this=exp.var(part), expression=node.expression.copy())
        return exp.cast(extract, exp.DataType.build("bigint"))
    return node


def _regexp_extract(node: exp.Expr) -> exp.Expr:
    if not isinstance(node, exp.RegexpExtract):
        return node
    group = node.args.get("group")
    number = int(group.name) if isinstance(group, exp.Literal) else 0
    pattern = node.expression.copy()
    if number == 0:  # the whole match: one group around the pattern
        pattern = exp.Concat(
            expressions=[exp.Literal.string("("), pattern, exp.Literal.string(")")]
        )
        number = 1
    match = exp.Anonymous(this="REGEXP_MATCH", expressions=[node.this.copy(), pattern])
    item = exp.Bracket(
        this=exp.Paren(this=match), expressions=[exp.Literal.number(number)], offset=1
    )
    return exp.Coalesce(this=item, expressions=[exp.Literal.string("")])


_REWRITES = (_day_of_week, _regexp_extract)


def rewrite(tree: exp.Expr) -> exp.Expr:
    """``tree`` with each construct above rewritten for PostgreSQL."""
    for step in _REWRITES:
        tree = tree.transform(step)
    return tree
