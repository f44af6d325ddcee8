"""What every engine's exports share: the data files' names, and the export's line in
``_headwater.loads`` (``headwater loads export.NAME`` lists it beside the sources' loads).
The statement uses ``?`` placeholders and types both DuckDB and PostgreSQL accept."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from headwater.engines.base import STATE_SCHEMA
from headwater.engines.protocol import Cursor

#: an export's format -> its files' extension (``data_0.<ext>``, as DuckDB's COPY names them)
EXTENSIONS = {"parquet": "parquet", "csv": "csv", "jsonl": "jsonl"}


def record_export(cur: Cursor, load_id: int, asset: str, run_id: str | None, rows: int) -> None:
    """The export's line: ``rows`` read from the model and written to files (rows read =
    rows written), none rejected or superseded."""
    cur.execute(
        f"insert into {STATE_SCHEMA}.loads (load_id, asset, run_id, rows_read, rows_written, "
        "rows_rejected, rows_superseded, loaded_at, schema_changes) "
        "values (?, ?, ?, ?, ?, 0, 0, ?, ?)",
        [load_id, asset, run_id, rows, rows, datetime.now(UTC), json.dumps([])],
    )
