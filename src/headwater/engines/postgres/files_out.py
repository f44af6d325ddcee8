"""A table's rows written to Parquet, CSV or JSON-lines files from PostgreSQL (exports).

The server cannot write this machine's files, so the rows stream out through a server-side
cursor as Arrow batches (:mod:`.arrow_out`) and pyarrow writes them here, one batch at a
time. The layout is DuckDB's (:mod:`headwater.engines.duckdb.files_out`): ``data_0.<ext>``
under the folder, or with ``partition_by`` one ``column=value/data_0.<ext>`` per value (Hive
style, the column left out of the files), so an export's manifest reads the same whichever
engine wrote it. Only local folders: an ``s3://`` destination is refused in one line.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa

from headwater.engines.base import STATE_SCHEMA
from headwater.engines.postgres import arrow_out
from headwater.engines.postgres.connection import PgCursor
from headwater.engines.postgres.sql import ident, qualified
from headwater.errors import EngineError

EXTENSIONS = {"parquet": "parquet", "csv": "csv", "jsonl": "jsonl"}


def table_rows(
    cur: PgCursor,
    schema: str,
    table: str,
    folder: str,
    *,
    fmt: str,
    partition_by: str | None = None,
    interval: tuple[datetime, datetime] | None = None,
    interval_column: str | None = None,
    tz: str = "UTC",
) -> tuple[int, list[str]]:
    """``schema.table``'s rows (with ``interval``: those whose ``interval_column`` is in
    ``[start, end)``, compared in zone ``tz`` as the model's build compares them) under
    ``folder`` as ``fmt``; (rows, files). One read transaction: one snapshot of the table."""
    if folder.startswith("s3://"):
        raise EngineError(
            f"writing {folder}: exports to object stores need the duckdb engine "
            "(this engine writes local folders only)"
        )
    where, params = "", []
    if interval is not None and interval_column is not None:
        col = ident(interval_column)
        where = f" where {col} >= ? and {col} < ?"
        params = [interval[0], interval[1]]
    Path(folder).mkdir(parents=True, exist_ok=True)
    source = f"select * from {qualified(schema, table)}{where}"
    try:
        with cur.transaction():
            cur.execute("select set_config('TimeZone', ?, true)", [tz])
            if partition_by is None:
                target = f"{folder}/data_0.{EXTENSIONS[fmt]}"
                return _write(cur, source, params, target, fmt), [target]
            return _each_value(cur, source, params, folder, partition_by, fmt)
    except psycopg.Error as exc:
        raise EngineError(f"writing {folder}: {str(exc).strip().splitlines()[0]}") from None


def _each_value(
    cur: PgCursor, source: str, params: list[Any], folder: str, column: str, fmt: str
) -> tuple[int, list[str]]:
    """One ``column=value/`` folder per distinct value, the column left out of its files."""
    col = ident(column)
    values = [
        r[0]
        for r in cur.execute(f"select distinct {col} from ({source}) s", params or None).fetchall()
    ]
    names = [
        c
        for c in cur.execute(f"select * from ({source}) s limit 0", params or None).columns()
        if c != column
    ]
    keep = ", ".join(ident(n) for n in names)
    rows, files = 0, []
    for value in values:
        sub = Path(folder) / f"{column}={'NULL' if value is None else value}"
        sub.mkdir(parents=True, exist_ok=True)
        cond = f"{col} is null" if value is None else f"{col} = ?"
        sql = f"select {keep} from ({source}) s where {cond}"
        target = str(sub / f"data_0.{EXTENSIONS[fmt]}")
        rows += _write(cur, sql, [*params, *([] if value is None else [value])], target, fmt)
        files.append(target)
    return rows, files


def _write(cur: PgCursor, sql: str, params: list[Any], target: str, fmt: str) -> int:
    """``sql``'s rows into the file ``target``; the row count."""
    reader = arrow_out.stream(cur.connection, sql, params or None)
    if fmt == "jsonl":
        return _jsonl(reader, target)
    writer = _writer(fmt, target, reader.schema)
    rows = 0
    try:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    finally:
        writer.close()
    return rows


def _writer(fmt: str, target: str, schema: pa.Schema) -> Any:
    if fmt == "csv":
        import pyarrow.csv as pacsv

        return pacsv.CSVWriter(target, schema)
    import pyarrow.parquet as pq

    return pq.ParquetWriter(target, schema)


def _jsonl(reader: pa.RecordBatchReader, target: str) -> int:
    """One JSON object a line (pyarrow writes no JSON): instants and dates in ISO 8601."""
    rows = 0
    with open(target, "w", encoding="utf-8") as out:
        for batch in reader:
            for row in batch.to_pylist():
                out.write(json.dumps(row, default=_json_value) + "\n")
            rows += batch.num_rows
    return rows


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def record_export(cur: PgCursor, load_id: int, asset: str, run_id: str | None, rows: int) -> None:
    """The export's line in ``_headwater.loads`` (rows read = rows written, none rejected)."""
    cur.execute(
        f"insert into {STATE_SCHEMA}.loads (load_id, asset, run_id, rows_read, rows_written, "
        "rows_rejected, rows_superseded, loaded_at, schema_changes) "
        "values (?, ?, ?, ?, ?, 0, 0, ?, ?)",
        [load_id, asset, run_id, rows, rows, datetime.now(UTC), json.dumps([])],
    )
