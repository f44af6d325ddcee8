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
    """Whether ``schema.table`` exists (a table or a view). The answer is read whole: on
    DuckDB a result left half-read keeps its statement's transaction open on that cursor,
    and while it is open no CHECKPOINT can run, so every row the run loads afterwards stays
    in memory (a run's peak RSS grew with its data: tests/engines/test_checkpoint.py)."""
    rows = cursor.execute(_EXISTS, [schema, table]).fetchall()
    return bool(rows and rows[0][0])


def table_columns(cursor: Any, schema: str, table: str) -> dict[str, str]:
    """``schema.table``'s columns and their types, in the table's order ({} when absent)."""
    return dict(cursor.execute(_COLUMNS, [schema, table]).fetchall())
