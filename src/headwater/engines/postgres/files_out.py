"""A table's rows written to Parquet, CSV or JSON-lines files from PostgreSQL (exports).

The server cannot write this machine's files, so the rows stream out through a server-side
cursor as Arrow batches (:mod:`.arrow_out`) and pyarrow writes them here, one batch at a
time, into a local folder or an ``s3://`` prefix (each object one multipart upload,
published whole when its last batch is written: :mod:`.object_store`). The layout is
DuckDB's (:mod:`headwater.engines.duckdb.files_out`): ``data_0.<ext>`` under the folder,
or with ``partition_by`` one ``column=value/data_0.<ext>`` per value (Hive style, the
column left out of the files), so an export's manifest reads the same whichever engine
wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa

from headwater.engines.export_record import EXTENSIONS
from headwater.engines.postgres import arrow_out
from headwater.engines.postgres.connection import PgCursor
from headwater.engines.postgres.object_store import BucketAccess, s3_object
from headwater.engines.postgres.sql import ident, qualified
from headwater.errors import EngineError


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
    access: BucketAccess | None = None,
) -> tuple[int, list[str]]:
    """``schema.table``'s rows (with ``interval``: those whose ``interval_column`` is in
    ``[start, end)``, compared in zone ``tz`` as the model's build compares them) under
    ``folder`` as ``fmt``; (rows, files). One read transaction: one snapshot of the table.
    An ``s3://`` folder needs ``access``, its bucket's connection."""
    if folder.startswith("s3://") and access is None:
        raise EngineError(f"writing {folder}: no s3:// connection was opened for its bucket")
    where, params = "", []
    if interval is not None and interval_column is not None:
        col = ident(interval_column)
        where = f" where {col} >= ? and {col} < ?"
        params = [interval[0], interval[1]]
    out = _Output(folder, fmt, access if folder.startswith("s3://") else None)
    source = f"select * from {qualified(schema, table)}{where}"
    try:
        with cur.transaction():
            cur.execute("select set_config('TimeZone', ?, true)", [tz])
            if partition_by is None:
                target = out.file("")
                return out.write(cur, source, params, target), [target]
            return _each_value(cur, source, params, out, partition_by)
    except psycopg.Error as exc:
        raise EngineError(f"writing {folder}: {str(exc).strip().splitlines()[0]}") from None


def _each_value(
    cur: PgCursor, source: str, params: list[Any], out: _Output, column: str
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
        cond = f"{col} is null" if value is None else f"{col} = ?"
        sql = f"select {keep} from ({source}) s where {cond}"
        target = out.file(f"{column}={'NULL' if value is None else value}/")
        rows += out.write(cur, sql, [*params, *([] if value is None else [value])], target)
        files.append(target)
    return rows, files


class _Output:
    """Where one export's files go: a local ``folder`` or, with ``access``, an ``s3://``
    prefix; each file written from a query's stream of batches."""

    def __init__(self, folder: str, fmt: str, access: BucketAccess | None) -> None:
        self.folder, self.fmt, self.access = folder, fmt, access

    def file(self, sub: str) -> str:
        """The location of the data file in ``sub`` (``""`` or ``column=value/``), its
        local folder made."""
        if self.access is None:
            Path(self.folder, sub).mkdir(parents=True, exist_ok=True)
        return f"{self.folder}/{sub}data_0.{EXTENSIONS[self.fmt]}"

    def write(self, cur: PgCursor, sql: str, params: list[Any], target: str) -> int:
        """``sql``'s rows into the file ``target``; the row count."""
        reader = arrow_out.stream(cur.connection, sql, params or None)
        with self._opened(target) as sink:
            return _write_batches(reader, sink, self.fmt)

    @contextmanager
    def _opened(self, target: str) -> Iterator[pa.NativeFile]:
        if self.access is None:
            with pa.OSFile(target, "wb") as local:
                yield local
            return
        with s3_object(self.access, target) as obj:  # published whole when the block ends
            yield pa.PythonFile(obj, mode="w")


def _write_batches(reader: pa.RecordBatchReader, sink: pa.NativeFile, fmt: str) -> int:
    """Every batch of ``reader`` into ``sink`` as ``fmt``; the row count. JSON lines are
    one object a line (pyarrow writes no JSON): instants and dates in ISO 8601."""
    rows = 0
    if fmt == "jsonl":
        for batch in reader:
            lines = (json.dumps(row, default=_json_value) + "\n" for row in batch.to_pylist())
            sink.write("".join(lines).encode("utf-8"))
            rows += batch.num_rows
        return rows
    writer = _writer(fmt, sink, reader.schema)
    try:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    finally:
        writer.close()
    return rows


def _writer(fmt: str, sink: pa.NativeFile, schema: pa.Schema) -> Any:
    if fmt == "csv":
        import pyarrow.csv as pacsv

        return pacsv.CSVWriter(sink, schema)
    import pyarrow.parquet as pq

    return pq.ParquetWriter(sink, schema)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
