"""SQL text both DuckDB and PostgreSQL read the same way (the SQL standard's quoting):
identifiers in double quotes, strings in single quotes, each quote doubled. Each engine's
``sql`` module re-exports these next to its own helpers.

>>> ident('order')
'"order"'
>>> ident('a"b')
'"a""b"'
>>> qualified('raw', 'Orders')
'"raw"."Orders"'
>>> string("it's")
"'it''s'"
>>> column_list(["id", "day"], prefix="t.")
't."id", t."day"'
"""

from __future__ import annotations

__all__ = ["column_list", "ident", "qualified", "string"]


def ident(name: str) -> str:
    """Quote an identifier."""
    return '"' + name.replace('"', '""') + '"'


def string(value: str) -> str:
    """A string literal."""
    return "'" + value.replace("'", "''") + "'"


def qualified(schema: str, table: str) -> str:
    """``schema.table``, each quoted."""
    return f"{ident(schema)}.{ident(table)}"


def column_list(columns: list[str], prefix: str = "") -> str:
    """The quoted columns, comma-separated, each after ``prefix`` (a table's alias)."""
    return ", ".join(f"{prefix}{ident(c)}" for c in columns)
