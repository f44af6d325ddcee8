"""A table's rows written to Parquet, CSV or JSON-lines files by DuckDB's ``COPY ... TO``,
in a local folder or under an ``s3://`` prefix (httpfs, :mod:`.object_store`).

Contract: :func:`copy_out` writes every file under ``folder`` (which nobody reads yet: the
caller publishes it afterwards) and returns the rows and the files written. Partitioned
output is ``column=value/`` folders (Hive style): DuckDB's ``PARTITION_BY`` for Parquet and
CSV; for JSON lines, which DuckDB does not partition, one ``COPY`` per value, each file
named the same way. The export's line in ``_headwater.loads`` is written as on every
engine (:mod:`headwater.engines.export_record`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from headwater.engines.duckdb.partitions import interval_variables
from headwater.engines.duckdb.sql import ident, qualified, string
from headwater.engines.export_record import EXTENSIONS
from headwater.errors import EngineError

_OPTIONS = {"parquet": "format parquet", "csv": "format csv, header true", "jsonl": "format json"}


def table_rows(
    cur: duckdb.DuckDBPyConnection,
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
    """:func:`copy_out` of ``schema.table``: every row, or with ``interval`` the rows whose
    ``interval_column`` is in ``[start, end)`` (compared in zone ``tz``, as the model's
    build compares them: :mod:`.partitions`)."""
    sql = f"select * from {qualified(schema, table)}"
    if interval is None or interval_column is None:
        return copy_out(cur, sql, folder, fmt=fmt, partition_by=partition_by)
    col = ident(interval_column)
    sql += f" where {col} >= getvariable('interval_start') and {col} < getvariable('interval_end')"
    with interval_variables(cur, interval[0], interval[1], tz):
        return copy_out(cur, sql, folder, fmt=fmt, partition_by=partition_by)


def copy_out(
    cur: duckdb.DuckDBPyConnection,
    select_sql: str,
    folder: str,
    *,
    fmt: str,
    partition_by: str | None = None,
) -> tuple[int, list[str]]:
    """Write ``select_sql``'s rows under ``folder`` (a local path or ``s3://`` URL) as
    ``fmt``; returns (rows, the files' locations as written). A local folder is created."""
    local = not folder.startswith("s3://")
    if local:
        Path(folder).mkdir(parents=True, exist_ok=True)
    options = _OPTIONS[fmt]
    try:
        if partition_by is None:
            target = f"{folder}/data_0.{EXTENSIONS[fmt]}"
            return _copy(cur, select_sql, target, options)
        if fmt != "jsonl":
            opts = f"{options}, partition_by ({ident(partition_by)})"
            return _copy(cur, select_sql, folder, opts)
        return _copy_each_value(cur, select_sql, folder, partition_by, local)
    except duckdb.Error as exc:
        raise EngineError(f"writing {folder}: {str(exc).splitlines()[0]}") from None


def _copy(
    cur: duckdb.DuckDBPyConnection, select_sql: str, target: str, options: str
) -> tuple[int, list[str]]:
    row = cur.execute(
        f"copy ({select_sql}) to {string(target)} ({options}, return_files true)"
    ).fetchone()
    assert row is not None
    return int(row[0]), [str(f) for f in row[1]]


def _copy_each_value(
    cur: duckdb.DuckDBPyConnection, select_sql: str, folder: str, column: str, local: bool
) -> tuple[int, list[str]]:
    """JSON lines by ``column=value/``: one COPY per distinct value."""
    col = ident(column)
    values = [r[0] for r in cur.execute(f"select distinct {col} from ({select_sql})").fetchall()]
    rows, files = 0, []
    for value in values:
        sub = f"{folder}/{column}={'NULL' if value is None else value}"
        if local:
            Path(sub).mkdir(parents=True, exist_ok=True)
        where = f"{col} is null" if value is None else f"{col} = {_literal(value)}"
        n, written = _copy(
            cur,
            f"select * exclude ({col}) from ({select_sql}) where {where}",
            f"{sub}/data_0.jsonl",
            _OPTIONS["jsonl"],
        )
        rows += n
        files += written
    return rows, files


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return string(str(value))
