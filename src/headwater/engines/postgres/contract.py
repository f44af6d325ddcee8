"""Schema contracts on PostgreSQL: what a load does when the source's columns or types
changed (the same rules as DuckDB's, see :mod:`headwater.engines.duckdb.contract`).

- ``evolve``: ``ALTER TABLE ADD COLUMN`` for a new column; a widened type
  (``integer`` -> ``bigint``) or an incompatible one (their common type, ``text`` when there
  is none) by ``ALTER COLUMN ... TYPE``. Dropped columns stay, NULL for new rows.
- ``freeze``: any difference fails the load, naming table, column, old and new type.
- ``discard_row`` / ``discard_value``: a row with a value in a new column, or a value that
  does not cast to the column's type (``_headwater.fits``), is left out / set to NULL, each
  one recorded in ``_headwater.rejected_rows``.

Everything runs inside the load's transaction: a failure leaves the table as it was.
"""

from __future__ import annotations

from headwater.engines.base import METADATA_PREFIX, STATE_SCHEMA, SchemaChange
from headwater.engines.duckdb.contract import Change
from headwater.engines.postgres.connection import PgCursor
from headwater.engines.postgres.materialize import _typed
from headwater.engines.postgres.sql import ident, qualified
from headwater.errors import SourceError

#: created with the state tables: whether a text casts to a type (PostgreSQL 15 has no
#: try_cast nor pg_input_is_valid)
FITS_DDL = f"""
create or replace function {STATE_SCHEMA}.fits(value text, type text) returns boolean
language plpgsql stable as $$
begin
    execute format('select %L::%s', value, type);
    return true;
exception when others then
    return false;
end $$;
"""


def diff(cur: PgCursor, staged: str, schema: str, table: str) -> list[Change]:
    """Differences between the staged rows' columns and the table's."""
    new = dict(_typed(cur, staged))
    old = dict(_typed(cur, qualified(schema, table)))
    changes = []
    for col, new_type in new.items():
        if col.startswith(METADATA_PREFIX) and col != "_hw_file":
            continue
        old_type = old.get(col)
        if old_type is None:
            changes.append(Change(col, "new_column", None, new_type))
        elif old_type != new_type:
            common = supertype(cur, old_type, new_type)
            if common == old_type:
                continue  # the new values fit the existing column
            kind = "widened" if common == new_type else "incompatible"
            changes.append(Change(col, kind, old_type, new_type))
    for col, old_type in old.items():
        if col not in new and not col.startswith(METADATA_PREFIX):
            changes.append(Change(col, "dropped", old_type, None))
    return changes


def apply(
    cur: PgCursor,
    contract: str,
    changes: list[Change],
    *,
    staged: str,
    schema: str,
    table: str,
    asset: str,
    load_id: int,
) -> tuple[list[str], list[SchemaChange]]:
    """Enforce ``contract``: the staged columns to write, and each change with what was
    done about it."""
    columns = [name for name, _ in _typed(cur, staged)]
    if contract == "freeze":
        if changes:
            raise SourceError(
                f"schema contract 'freeze' refuses the load: {changes[0].describe(asset)}"
                + (f" (and {len(changes) - 1} more changes)" if len(changes) > 1 else "")
            )
        return columns, []
    done = []
    for change in changes:
        if change.kind == "dropped":
            action = "column kept, NULL in the new rows"
        elif contract == "evolve":
            action = _evolve(cur, qualified(schema, table), change)
        else:
            action = _discard(cur, contract, change, staged, asset=asset, load_id=load_id)
            if change.kind == "new_column":
                columns.remove(change.column)
        done.append(change.done(action))
    return columns, done


def _evolve(cur: PgCursor, target: str, change: Change) -> str:
    col = ident(change.column)
    if change.kind == "new_column":
        cur.execute(f"alter table {target} add column {col} {change.new}")
        return "column added"
    wider = supertype(cur, change.old or "", change.new or "") or "text"
    cur.execute(f"alter table {target} alter column {col} type {wider} using {col}::{wider}")
    return f"column type changed to {wider}"


def _discard(
    cur: PgCursor, contract: str, change: Change, staged: str, *, asset: str, load_id: int
) -> str:
    col = ident(change.column)
    if change.kind == "new_column":
        bad = f"{col} is not null"
        reason = f"column {change.column!r} is not in the table's schema"
    else:
        bad = f"{col} is not null and not {STATE_SCHEMA}.fits({col}::text, '{change.old}')"
        reason = f"value does not fit column {change.column!r} of type {change.old}"
    names = [name for name, _ in _typed(cur, staged)]
    count = cur.execute(
        f"insert into {STATE_SCHEMA}.rejected_rows select ?, ?, "
        f"{'_hw_file' if '_hw_file' in names else 'null'}, null, ?, ?, {col}::text "
        f"from {staged} where {bad}",
        [load_id, asset, change.column, f"schema contract {contract}: {reason}"],
    ).rowcount
    if contract == "discard_row":
        cur.execute(f"delete from {staged} where {bad}")
    elif change.kind != "new_column":
        cur.execute(f"update {staged} set {col} = null where {bad}")
    if change.kind != "new_column":  # the values left all fit now
        cur.execute(
            f"alter table {staged} alter column {col} type {change.old} using {col}::text::{change.old}"
        )
    if not count:
        if change.kind == "new_column":
            return "column not added (it holds no value)"
        return f"values cast to {change.old} (every one fits)"
    recorded = "recorded in _headwater.rejected_rows"
    if contract == "discard_row":
        return f"{count} rows discarded, {recorded}"
    if change.kind == "new_column":
        return f"column not added, {count} values discarded, {recorded}"
    return f"{count} values set to NULL, {recorded}"


def supertype(cur: PgCursor, a: str, b: str) -> str | None:
    """PostgreSQL's common type of two types (as ``format_type`` names it), or None."""
    import psycopg

    try:
        with cur.transaction():  # a savepoint: the error must not abort the load
            row = cur.execute(
                f"select pg_typeof(x)::text, format_type(pg_typeof(x), null) from "
                f"(select coalesce(null::{a}, null::{b}) as x) s"
            ).fetchone()
    except psycopg.Error:
        return None
    if not row:
        return None
    name = str(row[0])
    return a if name == a.split("(")[0] else b if name == b.split("(")[0] else name
