"""Schema contracts: what a load does when the source's columns or types changed.

Compared with the warehouse table, a staged load may have a **new column**, a **widened
type** (the table's type fits in the new one: INTEGER -> BIGINT, DECIMAL(10,2) ->
DECIMAL(12,2)), an **incompatible type** (INTEGER -> VARCHAR) or a **dropped column**.

- ``evolve``: add new columns; widen types; an incompatible type becomes the two types'
  common supertype (VARCHAR when there is none). Dropped columns stay, NULL for new rows.
- ``freeze``: any difference fails the load, naming table, column, old and new type.
- ``discard_row``: rows that do not fit the table (a value in a new column, a value that
  does not cast to the column's type) are left out and recorded in
  ``_headwater.rejected_rows`` with the reason.
- ``discard_value``: such values are set to NULL (new columns are not added), each one
  recorded in ``_headwater.rejected_rows``.

Nothing is dropped silently: every discarded row or value is recorded, and every change is
returned with what the contract did (:class:`~headwater.engines.base.SchemaChange`), for the
load's record in ``_headwater.loads.schema_changes``, the step's log and the run summary.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from headwater.engines.base import METADATA_PREFIX, STATE_SCHEMA, SchemaChange
from headwater.engines.duckdb.sql import ident, qualified
from headwater.errors import SourceError

CONTRACTS = ("evolve", "freeze", "discard_row", "discard_value")


@dataclass(frozen=True)
class Change:
    column: str
    kind: str  # new_column | widened | incompatible | dropped
    old: str | None
    new: str | None

    def describe(self, table: str) -> str:
        if self.kind == "new_column":
            return f"{table}: new column {self.column!r} ({self.new})"
        if self.kind == "dropped":
            return f"{table}: column {self.column!r} ({self.old}) is no longer in the source"
        return f"{table}: column {self.column!r} changed type from {self.old} to {self.new}"

    def done(self, action: str) -> SchemaChange:
        """This change, with what the contract did about it."""
        return SchemaChange(self.column, self.kind, self.old, self.new, action)


def diff(cur: duckdb.DuckDBPyConnection, staged: str, schema: str, table: str) -> list[Change]:
    """Differences between the staged rows' columns and the table's."""
    new = _types(cur, f"select column_name, column_type from (describe {staged})")
    old = _types(
        cur,
        "select column_name, data_type from information_schema.columns "
        f"where table_schema = '{schema}' and table_name = '{table}'",
    )
    changes = []
    for col, new_type in new.items():
        if col.startswith(METADATA_PREFIX) and col != "_hw_file":
            continue
        old_type = old.get(col)
        if old_type is None:
            changes.append(Change(col, "new_column", None, new_type))
        elif old_type != new_type:
            super_type = supertype(cur, old_type, new_type)
            if super_type == old_type:
                continue  # the new values fit the existing column
            kind = "widened" if super_type == new_type else "incompatible"
            changes.append(Change(col, kind, old_type, new_type))
    for col, old_type in old.items():
        if col not in new and not col.startswith(METADATA_PREFIX):
            changes.append(Change(col, "dropped", old_type, None))
    return changes


def apply(
    cur: duckdb.DuckDBPyConnection,
    contract: str,
    changes: list[Change],
    *,
    staged: str,
    schema: str,
    table: str,
    asset: str,
    load_id: int,
) -> tuple[list[str], list[SchemaChange]]:
    """Enforce ``contract``: the staged columns to write (others are discarded), and each
    change with what was done about it (for the load's record and log)."""
    columns = [c for (c,) in cur.execute(f"select column_name from (describe {staged})").fetchall()]
    if contract == "freeze":
        if changes:
            raise SourceError(
                f"schema contract 'freeze' refuses the load: {changes[0].describe(asset)}"
                + (f" (and {len(changes) - 1} more changes)" if len(changes) > 1 else "")
            )
        return columns, []
    done = []
    for change in changes:
        if change.kind == "dropped":  # every contract but freeze keeps the column
            action = "column kept, NULL in the new rows"
        elif contract == "evolve":
            action = _evolve(cur, qualified(schema, table), change)
        else:
            action = _discard(cur, contract, change, staged, asset=asset, load_id=load_id)
            if change.kind == "new_column":
                columns.remove(change.column)
        done.append(change.done(action))
    return columns, done


def _evolve(cur: duckdb.DuckDBPyConnection, target: str, change: Change) -> str:
    """Add the column or widen its type; what was done."""
    col = ident(change.column)
    if change.kind == "new_column":
        cur.execute(f"alter table {target} add column {col} {change.new}")
        return "column added"
    wider = supertype(cur, change.old or "", change.new or "") or "VARCHAR"
    cur.execute(f"alter table {target} alter column {col} type {wider}")
    return f"column type changed to {wider}"


def _discard(
    cur: duckdb.DuckDBPyConnection,
    contract: str,
    change: Change,
    staged: str,
    *,
    asset: str,
    load_id: int,
) -> str:
    """discard_row / discard_value: record the values that do not fit, then drop their rows
    or set them to NULL in ``staged``; what was done."""
    col = ident(change.column)
    if change.kind == "new_column":
        bad = f"{col} is not null"
        reason = f"column {change.column!r} is not in the table's schema"
    else:
        bad = f"{col} is not null and try_cast({col} as {change.old}) is null"
        reason = f"value does not fit column {change.column!r} of type {change.old}"
    names = [c for (c,) in cur.execute(f"select column_name from (describe {staged})").fetchall()]
    row = cur.execute(
        f"insert into {STATE_SCHEMA}.rejected_rows select ?, ?, "
        f"{'_hw_file' if '_hw_file' in names else 'null'}, null, ?, ?, {col}::varchar "
        f"from {staged} where {bad}",
        [load_id, asset, change.column, f"schema contract {contract}: {reason}"],
    ).fetchone()
    count = int(row[0]) if row else 0
    if contract == "discard_row":
        cur.execute(f"delete from {staged} where {bad}")
    elif change.kind != "new_column":
        cur.execute(f"update {staged} set {col} = null where {bad}")
    if change.kind != "new_column":
        # values left all fit now (the others were removed or nulled above)
        cur.execute(
            f"create or replace temp table {staged} as select * replace "
            f"(try_cast({col} as {change.old}) as {col}) from {staged}"
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


def supertype(cur: duckdb.DuckDBPyConnection, a: str, b: str) -> str | None:
    """DuckDB's common supertype of two types, or None when they do not mix."""
    try:
        row = cur.execute(f"select typeof(coalesce(null::{a}, null::{b}))").fetchone()
    except duckdb.Error:
        return None
    return str(row[0]) if row else None


def _types(cur: duckdb.DuckDBPyConnection, sql: str) -> dict[str, str]:
    return {name: dtype for name, dtype in cur.execute(sql).fetchall()}
