"""Read-only answers for people: ``headwater query``, the server's query page, downloads.

One statement, in the project's dialect (DuckDB's) rendered for PostgreSQL, run in a
``READ ONLY`` transaction that is rolled back afterwards: it cannot change the warehouse
whatever it calls. It reads the last committed version of each table (MVCC), so it answers
at once while a run writes. Several statements, or anything but a query, are refused in
one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pyarrow as pa

from headwater.engines.postgres.connection import PgCursor
from headwater.errors import EngineError


def _rendered(sql: str) -> str:
    """``sql`` as PostgreSQL runs it; EngineError when it is not one query."""
    import sqlglot
    from sqlglot import exp

    from headwater.engines.dialects import Untranslatable, render_tree
    from headwater.project.sql_errors import PROJECT_DIALECT

    try:
        statements = [s for s in sqlglot.parse(sql, dialect=PROJECT_DIALECT) if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise EngineError(f"query: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise EngineError(f"query: one statement expected, got {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise EngineError(f"query: only a query (SELECT) can run here, not {tree.key.upper()}")
    try:
        return render_tree(tree, "postgres")
    except Untranslatable as exc:
        raise EngineError(f"query: {exc}") from None


def read_query_on(
    cur: PgCursor, sql: str, params: list[Any] | None = None, *, limit: int | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Columns and rows of ``sql`` (at most ``limit`` rows); EngineError (the server's
    first line) when PostgreSQL rejects it."""
    description, rows = _answer(cur, sql, params, limit)
    return [d.name for d in description], rows


def _answer(
    cur: PgCursor, sql: str, params: list[Any] | None, limit: int | None
) -> tuple[list[Any], list[tuple[Any, ...]]]:
    """psycopg's description of the answer, and its rows (see :func:`read_query_on`)."""
    text = _rendered(sql)
    try:
        with cur.transaction():
            cur.execute("set transaction read only")
            cur.execute(text, params)
            description = list(cur.description or [])
            rows = cur.raw.fetchmany(limit) if limit is not None else cur.fetchall()
            raise psycopg.Rollback()  # nothing it did is kept, whatever it called
    except psycopg.Error as exc:
        raise EngineError(f"query: {str(exc).strip().splitlines()[0]}") from None
    return description, [tuple(r) for r in rows]


class ArrowStream:
    """An answer as Arrow record batches (the ``BatchStream`` protocol)."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    @property
    def schema(self) -> pa.Schema:
        return self._table.schema

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return iter(self._table.to_batches(max_chunksize=65536))

    def close(self) -> None:
        self._table = self._table.schema.empty_table()


def stream_query_on(cur: PgCursor, sql: str, *, limit: int | None = None) -> ArrowStream:
    """As :func:`read_query_on`, as Arrow batches typed by the columns' PostgreSQL types
    (:mod:`.arrow_out`: a column all NULL keeps its type)."""
    from headwater.engines.postgres.arrow_out import arrow_schema, to_batch

    description, rows = _answer(cur, sql, None, limit)
    schema = arrow_schema(description)
    return ArrowStream(pa.Table.from_batches([to_batch(schema, rows)], schema=schema))
