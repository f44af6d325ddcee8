"""A sync's record in the warehouse, written the same way by every engine's sync reader.

A finished sync leaves one row in ``_headwater.syncs`` (what it compared and changed) and
one in ``_headwater.loads`` (asset ``sync.<name>``, so ``headwater loads`` lists it), both
inside the transaction that also stores the model's rows as the synced state. The
statements use ``?`` placeholders and types both DuckDB and PostgreSQL accept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from headwater.engines.base import STATE_SCHEMA

__all__ = ["SYNCS_DDL", "record_sync"]

SYNCS_DDL = f"""
create table if not exists {STATE_SCHEMA}.syncs (
    load_id bigint, sync text, run_id text, connection text, target text,
    rows_read bigint, inserted bigint, updated bigint, deleted bigint, synced_at timestamptz)
"""


def record_sync(run: Callable[[str, list[Any] | None], Any], record: dict[str, Any]) -> None:
    """Write ``record`` (load_id, sync, run_id, connection, target, rows_read, inserted,
    updated, deleted) as a row of ``_headwater.syncs`` and of ``_headwater.loads`` through
    ``run(sql, params)``, in the caller's transaction (nothing is committed here)."""
    run(SYNCS_DDL, None)
    at = datetime.now(UTC)
    names = [*record, "synced_at"]
    marks = ", ".join("?" for _ in names)
    run(
        f"insert into {STATE_SCHEMA}.syncs ({', '.join(names)}) values ({marks})",
        [*record.values(), at],
    )
    written = int(record["inserted"]) + int(record["updated"]) + int(record["deleted"])
    run(
        f"insert into {STATE_SCHEMA}.loads (load_id, asset, run_id, rows_read, rows_written, "
        "rows_rejected, rows_superseded, loaded_at, schema_changes) "
        "values (?, ?, ?, ?, ?, 0, 0, ?, ?)",
        [record["load_id"], f"sync.{record['sync']}", record["run_id"],
         record["rows_read"], written, at, json.dumps([])],
    )  # fmt: skip
