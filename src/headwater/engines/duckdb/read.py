"""Read-only answers from the warehouse file: ``headwater query`` and ``headwater loads``.

A separate connection opened read-only, so a query can never change the warehouse; while a
run writes the file DuckDB refuses it and :func:`read_query` raises
:class:`~headwater.errors.WarehouseBusy` (see :func:`~headwater.engines.duckdb.engine.connect`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from headwater.engines.duckdb.engine import connect
from headwater.engines.duckdb.guard import require_warehouse_reads
from headwater.errors import EngineError


def read_query(
    path: Path, sql: str, params: list[Any] | None = None, *, limit: int | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Columns and rows of ``sql`` on the warehouse at ``path``, read-only, instants in UTC.
    At most ``limit`` rows when given. A statement that returns nothing gives ``([], [])``; a statement DuckDB rejects raises
    :class:`EngineError` with the first line of DuckDB's message."""
    con = connect(path, read_only=True)  # WarehouseBusy while a run writes
    try:
        return _fetch(con, sql, params, limit)
    finally:
        con.close()


def read_query_on(
    cursor: duckdb.DuckDBPyConnection,
    sql: str,
    params: list[Any] | None = None,
    *,
    limit: int | None = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """As :func:`read_query`, on ``cursor`` of a warehouse this process already holds open
    for writing (a server's: runs write through other cursors meanwhile; this one sees what
    they committed). Only one SELECT (or EXPLAIN) is answered: a COMMIT, ATTACH or COPY
    would escape the transaction, which is always rolled back, so a query changes nothing
    here either; and it reads only the warehouse (no file: :mod:`.guard`).

    >>> con = duckdb.connect()
    >>> read_query_on(con, "select 42 as answer")
    (['answer'], [(42,)])
    >>> read_query_on(con, "select 1; commit")
    Traceback (most recent call last):
    headwater.errors.EngineError: query refused: one SELECT statement is answered here, not 2 statements
    >>> read_query_on(con, "copy (select 1) to 'x.csv'")
    Traceback (most recent call last):
    headwater.errors.EngineError: query refused: a COPY statement changes what it touches; only SELECT (or EXPLAIN) is answered here
    """
    _require_a_select(sql)
    require_warehouse_reads(sql)  # a server's query: no file outside the warehouse
    cursor.execute("begin transaction")
    try:
        return _fetch(cursor, sql, params, limit)
    finally:
        cursor.execute("rollback")


_READING = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


def _require_a_select(sql: str) -> None:
    """Refuse anything but one reading statement (DuckDB's parser tells the kind)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise EngineError(f"query failed: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise EngineError(
            f"query refused: one SELECT statement is answered here, not {len(statements)} statements"
        )
    kind = statements[0].type
    if kind not in _READING:
        raise EngineError(
            f"query refused: a {kind.name} statement changes what it touches; "
            "only SELECT (or EXPLAIN) is answered here"
        )


def _fetch(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None, limit: int | None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    # instants print in UTC, as the warehouse keeps them: the same answer on every machine
    con.execute("set TimeZone = 'UTC'")
    try:
        rel = con.execute(sql, params) if params else con.sql(sql)
        if rel is None or rel.description is None:
            return [], []
        columns = [d[0] for d in rel.description]
        # a SELECT runs here: its errors too
        rows = rel.fetchall() if limit is None else rel.fetchmany(max(limit, 0))
    except duckdb.Error as exc:
        raise EngineError(f"query failed: {str(exc).splitlines()[0]}") from None
    return columns, rows
