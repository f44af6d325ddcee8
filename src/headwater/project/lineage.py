"""Column-level lineage of a SQL model: which columns of the tables it reads feed each of
its output columns (sqlglot's ``lineage``, over the query qualified with the tables'
schemas).

Pure: the caller gives the SQL (every table reference schema-qualified, as
:func:`headwater.models.compile.compile_sql` makes it) and the columns of the tables it
reads. The answer is never a guess: a column whose sources sqlglot cannot place in one of
the given tables (a table function, a table whose schema is unknown, SQL sqlglot cannot
qualify) is ``None``, "unknown"; a column computed from no column (``count(*)``, a
literal) has an empty list.

>>> schemas = {"raw.orders": {"id": "INTEGER", "amount": "INTEGER", "customer": "VARCHAR"}}
>>> found = column_lineage(
...     "select customer as who, sum(amount) as total, count(*) as n from raw.orders group by 1",
...     schemas,
... )
>>> found["who"], found["total"], found["n"]
([('raw.orders', 'customer')], [('raw.orders', 'amount')], [])
>>> column_lineage("select x from read_csv('a.csv')", schemas)
{'x': None}
>>> column_lineage("select * from raw.unknown_table", schemas)
{}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headwater.project.sql_errors import PROJECT_DIALECT

DIALECT = PROJECT_DIALECT  # a model's columns are traced in the SQL as written

#: An output column's sources: ``(table, column)`` pairs, sorted; None when unknown.
Sources = list[tuple[str, str]] | None


def column_lineage(
    sql: str, schemas: Mapping[str, Mapping[str, str]], *, dialect: str = DIALECT
) -> dict[str, Sources]:
    """Each output column of ``sql`` (in the query's order) and the ``(table, column)``
    pairs it is computed from. ``schemas`` maps a table's ``schema.table`` name to its
    columns and their types. A query sqlglot cannot analyse at all gives ``{}`` (the caller
    then shows every column unknown); a column it cannot trace is ``None``."""
    from sqlglot.errors import SqlglotError
    from sqlglot.lineage import lineage

    nested = _nested(schemas)
    known = {name.lower(): {c.lower(): c for c in cols} for name, cols in schemas.items()}
    try:
        nodes = lineage(None, _folded(sql, dialect), nested, dialect=dialect)
    except (SqlglotError, ValueError, KeyError, AttributeError, TypeError):
        # sqlglot's qualifier raises more than SqlglotError on SQL it does not follow
        return {}
    out: dict[str, Sources] = {}
    for column, node in nodes.items():
        if column == "*":  # a star sqlglot could not expand: its columns are unknown
            continue
        out[column] = _sources(node, known)
    return out


def _sources(node: Any, known: Mapping[str, Mapping[str, str]]) -> Sources:
    """The leaves of one column's lineage tree as ``(table, column)``, or None as soon as
    one leaf is not a column of a known table."""
    from sqlglot import exp

    found: set[tuple[str, str]] = set()
    for leaf in node.walk():
        if leaf.downstream:
            continue
        table = leaf.expression
        if not isinstance(table, exp.Table):
            if _reads_a_column(leaf.expression):
                return None  # a column sqlglot could not place in a table
            continue  # computed from no column: count(*), a literal
        if not table.db or isinstance(table.this, exp.Func):
            return None  # a table function, or a table name never qualified
        name = f"{table.db}.{table.name}".lower()
        prefix = f"{table.alias_or_name}."
        column = _unquoted(leaf.name[len(prefix) :] if leaf.name.startswith(prefix) else leaf.name)
        columns = known.get(name)
        if columns is None or column.lower() not in columns:
            return None
        found.add((_asset_name(table), columns[column.lower()]))
    return sorted(found)


def _reads_a_column(expression: Any) -> bool:
    """Whether a leaf that is not a table still stands for a column (sqlglot leaves a
    column it cannot place as a placeholder, or as the column itself)."""
    from sqlglot import exp

    return isinstance(expression, exp.Placeholder) or expression.find(exp.Column) is not None


def _unquoted(name: str) -> str:
    """A leaf's column as sqlglot names it (``"my col"``), without its quotes."""
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return name[1:-1].replace('""', '"')
    return name


def _folded(sql: str, dialect: str) -> Any:
    """``sql`` parsed, every identifier in lower case: DuckDB matches names without regard
    to case even when quoted, sqlglot keeps a quoted name's case (``"Name"`` would not
    find the column ``name``)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, dialect=dialect)
    for ident in tree.find_all(exp.Identifier):
        ident.set("this", ident.this.lower())
    return tree


def _asset_name(table: Any) -> str:
    return f"{table.db}.{table.name}"


def _nested(schemas: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, dict[str, str]]]:
    """``{"s.t": cols}`` as sqlglot's ``{"s": {"t": cols}}``."""
    nested: dict[str, dict[str, dict[str, str]]] = {}
    for name, columns in schemas.items():
        schema, _, table = name.rpartition(".")
        nested.setdefault(schema, {})[table] = dict(columns)
    return nested
