"""Questions to a warehouse's ``information_schema``, shared by the engines that have one
(DuckDB and PostgreSQL answer them alike): whether a table exists, and its columns.

Each takes an engine's cursor (the :class:`~headwater.engines.protocol.Cursor` protocol, ``?``
placeholders) so the SQL is written once.
"""

from __future__ import annotations

from typing import Any

_EXISTS = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
_COLUMNS = (
    "select column_name, data_type from information_schema.columns "
    "where table_schema = ? and table_name = ? order by ordinal_position"
)


def table_exists(cursor: Any, schema: str, table: str) -> bool:
    """Whether ``schema.table`` exists (a table or a view)."""
    row = cursor.execute(_EXISTS, [schema, table]).fetchone()
    return bool(row and row[0])


def table_columns(cursor: Any, schema: str, table: str) -> dict[str, str]:
    """``schema.table``'s columns and their types, in the table's order ({} when absent)."""
    return dict(cursor.execute(_COLUMNS, [schema, table]).fetchall())
