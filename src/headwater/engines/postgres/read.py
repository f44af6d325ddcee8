"""Read-only answers for people: ``headwater query``, the server's query page, downloads.

One statement, in the project's dialect (DuckDB's) rendered for PostgreSQL, run in a
``READ ONLY`` transaction that is rolled back afterwards: it cannot change the warehouse
whatever it calls. It reads the last committed version of each table (MVCC), so it answers
at once while a run writes. Several statements, or anything but a query, are refused in
one line.

Answers read whole by a program (``headwater.read``, the server's Arrow reads and
downloads) are streamed instead (:class:`PgBatchStream`): a server-side cursor fetched a
batch at a time, so a table of any size passes through a bounded amount of memory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
import pyarrow as pa

from headwater.engines.postgres.arrow_out import BATCH_ROWS, declare, to_batch
from headwater.engines.postgres.connection import PgCursor
from headwater.engines.postgres.decorrelate import decorrelated
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
    if params is None:  # headwater query and the UI's: a correlated subquery as a join
        text = decorrelated(cur, text)
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


class PgBatchStream:
    """An answer's ``schema`` and its record batches (iterate once; the ``BatchStream``
    protocol), fetched from a server-side cursor ``BATCH_ROWS`` rows at a time: memory
    holds one batch, whatever the answer's size. The stream owns its connection (a
    download is read over many calls, perhaps from several threads, and must not hold the
    per-thread connection other statements use): one READ ONLY transaction, rolled back
    and closed by ``close()`` or the end of the iteration. The first batch is fetched
    when the stream is made, so a refused or failing statement raises EngineError then;
    a row failing later (a division by zero in row 100,000) raises it where it is met."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        sql: str,
        limit: int | None,
        *,
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        self._conn: psycopg.Connection[Any] | None = conn
        self._left, self._batch_rows = limit, batch_rows
        try:
            text = _rendered(sql)
            conn.execute("begin transaction read only")  # the cursor lives in it
            self._cur, self.schema = declare(conn, text)
            self._first = self._next()
        except psycopg.Error as exc:
            self.close()
            raise EngineError(f"query: {str(exc).strip().splitlines()[0]}") from None
        except BaseException:
            self.close()
            raise

    def _next(self) -> pa.RecordBatch | None:
        want = self._batch_rows if self._left is None else min(self._left, self._batch_rows)
        rows = self._cur.fetchmany(want) if want > 0 else []
        if not rows:
            return None
        if self._left is not None:
            self._left -= len(rows)
        return to_batch(self.schema, rows)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            batch = self._first
            while batch is not None:
                yield batch
                batch = self._next()
        except psycopg.Error as exc:
            raise EngineError(f"query: {str(exc).strip().splitlines()[0]}") from None
        finally:
            self.close()

    def close(self) -> None:
        """Roll back and close the stream's connection (twice is harmless)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(psycopg.Error):  # a broken connection has nothing to undo
            conn.execute("rollback")
        conn.close()


def stream_query(
    conn: psycopg.Connection[Any], sql: str, *, limit: int | None = None
) -> PgBatchStream:
    """As :func:`read_query_on`, on a connection of its own (``conn``, closed with the
    stream), as Arrow batches typed by the columns' PostgreSQL types (:mod:`.arrow_out`:
    a column all NULL keeps its type)."""
    return PgBatchStream(conn, sql, limit)
