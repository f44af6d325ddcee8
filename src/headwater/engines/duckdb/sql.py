"""Small SQL text helpers for DuckDB.

>>> ident('order')
'"order"'
>>> qualified('raw', 'Orders')
'"raw"."Orders"'
>>> string("it's")
"'it''s'"
>>> same_keys(["id", "day"], "t", "n")
't."id" is not distinct from n."id" and t."day" is not distinct from n."day"'
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


def same_keys(keys: list[str], left: str, right: str) -> str:
    """``left`` and ``right`` rows have the same key (NULL-safe: a NULL key part matches a
    NULL, as a key's identity must)."""
    return " and ".join(f"{left}.{ident(k)} is not distinct from {right}.{ident(k)}" for k in keys)
