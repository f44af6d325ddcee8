"""The quarantined rows themselves (``headwater quarantine ASSET --rows``), with the checks
they failed and why, newest first."""

from __future__ import annotations

from typing import Any

from headwater.quality.quarantine import SCHEMA, quarantine_relation, table_name


def quarantined_rows(
    cur: Any,
    asset: str,
    *,
    check: str | None = None,
    load_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """``(columns, rows)`` of ``quarantine.<table>`` for ``asset``: first ``check`` (the
    failed checks, comma-separated), ``reason``, ``load_id`` and ``quarantined_at``, then
    the row's own columns. ``check`` / ``load_id`` keep only the rows that failed that check
    / came with that load; at most ``limit`` rows, newest first, after skipping ``offset``
    (a page of them). No table: no rows."""
    if not _has_table(cur, asset):
        return ["check", "reason", "load_id", "quarantined_at"], []
    where, params = _where(check, load_id)
    rel = cur.execute(
        "SELECT _hw_check AS check, _hw_reason AS reason, _hw_load_id AS load_id, "
        "_hw_quarantined_at AS quarantined_at, "
        "* EXCLUDE (_hw_check, _hw_reason, _hw_load_id, _hw_quarantined_at) "
        f"FROM {quarantine_relation(asset)}"
        + where
        + f" ORDER BY _hw_quarantined_at DESC LIMIT {int(limit)} OFFSET {max(int(offset), 0)}",
        params,
    )
    columns = [d[0] for d in rel.description]
    return columns, rel.fetchall()


def count_quarantined(
    cur: Any, asset: str, *, check: str | None = None, load_id: str | None = None
) -> int:
    """How many of ``asset``'s quarantined rows :func:`quarantined_rows` would select
    (``check`` / ``load_id`` as there), however many there are; 0 with no table."""
    if not _has_table(cur, asset):
        return 0
    where, params = _where(check, load_id)
    found = cur.execute(f"SELECT count(*) FROM {quarantine_relation(asset)}{where}", params)
    return int(found.fetchone()[0])


def _has_table(cur: Any, asset: str) -> bool:
    found = cur.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [SCHEMA, table_name(asset)],
    ).fetchone()
    return bool(found and found[0])


def _where(check: str | None, load_id: str | None) -> tuple[str, list[str]]:
    """The ``WHERE`` clause (with its leading space; "" for none) keeping the rows that
    failed ``check`` and / or came with ``load_id``, and its parameters."""
    where, params = [], []
    if check is not None:
        where.append("list_contains(string_split(_hw_check, ','), ?)")
        params.append(check)
    if load_id is not None:  # as text: older quarantines hold text load ids
        where.append("CAST(_hw_load_id AS VARCHAR) = ?")
        params.append(str(load_id))
    return (f" WHERE {' AND '.join(where)}" if where else ""), params
