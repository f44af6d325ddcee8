"""Small SQL text helpers for DuckDB.

>>> ident('order')
'"order"'
>>> qualified('raw', 'Orders')
'"raw"."Orders"'
>>> string("it's")
"'it''s'"
"""

from __future__ import annotations


def ident(name: str) -> str:
    """Quote an identifier."""
    return '"' + name.replace('"', '""') + '"'


def string(value: str) -> str:
    """A string literal."""
    return "'" + value.replace("'", "''") + "'"


def qualified(schema: str, table: str) -> str:
    return f"{ident(schema)}.{ident(table)}"


def column_list(columns: list[str], prefix: str = "") -> str:
    return ", ".join(f"{prefix}{ident(c)}" for c in columns)
