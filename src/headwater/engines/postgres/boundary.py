"""The cursor mark of an incremental load, and the rows at it (as on DuckDB, see
:mod:`headwater.engines.duckdb.boundary`): reads are inclusive, and the rows at the mark
the last load held are recognised by a hash of their columns kept in the state. The hash
is PostgreSQL's ``hashtextextended`` of the row's text: a state is read by the engine that
wrote it."""

from __future__ import annotations

from typing import Any

from headwater.engines.base import LoadRequest
from headwater.engines.postgres.connection import PgCursor
from headwater.engines.postgres.sql import ident


def _row_hash(cols: list[str | None]) -> str:
    values = ", ".join(ident(c) if c else "null" for c in cols)
    return f"hashtextextended(row({values})::text, 0)::text"


def cursor_max(cur: PgCursor, req: LoadRequest, cols: list[str], rel: str) -> str | None:
    """The largest cursor value of ``rel`` (as text), or the old mark when it holds none."""
    if not req.cursor or req.cursor not in cols:
        return None
    row = cur.execute(f"select max({ident(req.cursor)})::text from {rel}").fetchone()
    return row[0] if row and row[0] is not None else req.boundary


def next_state(
    cur: PgCursor, req: LoadRequest, cols: list[str], mark: str | None, staged: str
) -> dict[str, Any] | None:
    """The state a load commits (None: a backfill window keeps the old one)."""
    if not req.advance_state:
        return None
    state = dict(req.state)
    if req.cursor and mark is not None:
        hashed: list[str | None] = [c for c in cols if c != "_hw_file"]
        found: list[Any] = []
        if req.write == "append":
            found = cur.execute(
                f"select {_row_hash(hashed)} from {staged} where {ident(req.cursor)}::text = ?",
                [mark],
            ).fetchall()
        state["cursor"] = mark
        state["boundary_hashes"] = sorted({r[0] for r in found})
        state["boundary_columns"] = hashed
    return state


def drop_already_loaded(cur: PgCursor, req: LoadRequest, cols: list[str], rel: str) -> None:
    """Delete from ``rel`` the rows at the old mark that the last load already loaded."""
    seen = req.state.get("boundary_hashes", [])
    if not seen or not req.cursor:
        return
    hashed = [c if c in cols else None for c in req.state.get("boundary_columns", cols)]
    cur.execute(
        f"delete from {rel} where {ident(req.cursor)}::text = ? and "
        f"{_row_hash(hashed)} = any(?::text[])",
        [req.boundary, list(seen)],
    )
