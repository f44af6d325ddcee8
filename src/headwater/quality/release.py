"""Taking rows out of quarantine: :func:`release` (re-validated against the current checks,
for the caller to load) and :func:`discard` (deleted for good).

Both select an asset's quarantined rows, all of them or those of one check and/or one load,
and run inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from headwater.engines.base import Cursor
from headwater.errors import HeadwaterError
from headwater.quality.compile import fail_predicate, quote
from headwater.quality.quarantine import (
    META_COLUMNS,
    _columns,
    _drop,
    _exists,
    _scalar,
    quarantine_relation,
    table_name,
    typed_columns,
)
from headwater.quality.spec import Check

RELEASED = "_hw_released"
"""The temp table :func:`release` leaves the released rows in (original columns only)."""


@dataclass(frozen=True)
class Released:
    """Rows :func:`release` took out of quarantine, in the temp table ``relation``."""

    relation: str | None  # None when nothing matched
    rows: int  # rows released (now in ``relation``)
    remaining: int  # selected rows that still fail and stay in quarantine
    columns: tuple[str, ...]  # the original columns

    @property
    def sql(self) -> str | None:
        """``SELECT`` of the released rows, for the caller's load."""
        return f"SELECT * FROM {self.relation}" if self.relation else None


def release(
    cur: Cursor,
    asset: str,
    *,
    checks: Sequence[Check],
    check: str | None = None,
    load_id: int | str | None = None,
    force: bool = False,
) -> Released:
    """Take out of quarantine the rows that pass the asset's current quarantine ``checks``.

    Selects the asset's quarantined rows (only those that failed ``check``, and/or came with
    ``load_id``, when given), re-validates them (skipped with ``force``), deletes the passing
    ones from quarantine and leaves them, with their original columns, in the temp table
    :data:`RELEASED`. Rows that still fail stay. Runs inside the caller's transaction: the
    caller writes ``Released.sql`` into the asset's table, drops the temp table and commits,
    so a release is atomic.
    """
    target = quarantine_relation(asset)
    if not _exists(cur, table_name(asset)):
        return Released(None, 0, 0, ())
    columns = [c for c in _columns(cur, target) if c not in META_COLUMNS]
    if "rowid" in {c.lower() for c in columns}:
        raise HeadwaterError(
            f"{asset}: cannot release: a column named 'rowid' hides DuckDB's row ids"
        )
    cond, params = _selection(check, load_id)
    own = ", ".join(quote(c) for c in columns)
    cand = "_hw_release_cand"
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE {cand} AS SELECT rowid AS _hw_qrowid, {own} "
        f"FROM {target} WHERE {cond}",
        params,
    )
    try:
        qchecks = [] if force else [c for c in checks if c.quarantines]
        types = typed_columns(cur, cand)
        fails = " OR ".join(f"coalesce({fail_predicate(c, cand, types)}, FALSE)" for c in qchecks)
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE {RELEASED} AS SELECT {own} FROM {cand} AS _hw_r "
            f"WHERE NOT ({fails or 'FALSE'})"
        )
        cur.execute(
            f"DELETE FROM {target} WHERE rowid IN (SELECT _hw_qrowid FROM {cand} AS _hw_r "
            f"WHERE NOT ({fails or 'FALSE'}))"
        )
        selected = _scalar(cur, f"SELECT count(*) FROM {cand}")
        released = _scalar(cur, f"SELECT count(*) FROM {RELEASED}")
    finally:
        _drop(cur, cand)
    return Released(RELEASED, released, selected - released, tuple(columns))


def discard(
    cur: Cursor,
    asset: str,
    *,
    check: str | None = None,
    load_id: int | str | None = None,
) -> int:
    """Delete quarantined rows for good (all of the asset's, or those of a check / load)."""
    if not _exists(cur, table_name(asset)):
        return 0
    cond, params = _selection(check, load_id)
    target = quarantine_relation(asset)
    count = _scalar(cur, f"SELECT count(*) FROM {target} WHERE {cond}", params)
    cur.execute(f"DELETE FROM {target} WHERE {cond}", params)
    return count


def _selection(check: str | None, load_id: int | str | None) -> tuple[str, list[object]]:
    """WHERE condition (and its parameters) picking quarantined rows of a check / a load."""
    where, params = ["TRUE"], list[object]()
    if check is not None:
        where.append("list_contains(string_split(_hw_check, ','), ?)")
        params.append(check)
    if load_id is not None:
        # compared as text, so the text ids of warehouses made before numeric ones match too
        where.append("CAST(_hw_load_id AS VARCHAR) = ?")
        params.append(str(load_id))
    return " AND ".join(where), params
