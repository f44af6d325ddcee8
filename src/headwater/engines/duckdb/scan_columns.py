"""The columns of a file scan, read by DuckDB's file readers without reading rows.

Every engine's file loads parse files with DuckDB's readers (a DuckDB warehouse in itself,
PostgreSQL and Spark in a DuckDB of the load's own), so a file source asks the engine for
the files' own columns (``Engine.scan_columns``) and refuses a folder key that would
replace one of them (:mod:`headwater.sources.file_load`).
"""

from __future__ import annotations

import duckdb

from headwater.errors import SourceError


def scan_columns(probe_sql: str, con: duckdb.DuckDBPyConnection | None = None) -> list[str]:
    """The column names of ``probe_sql`` (a ``limit 0`` file scan) run in ``con``, or in a
    throwaway in-memory DuckDB when None; a SourceError with DuckDB's first line when the
    files cannot be read."""
    if con is None:
        with duckdb.connect(":memory:") as own:
            return scan_columns(probe_sql, own)
    try:
        description = con.execute(probe_sql).description
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceError(f"cannot read the files' columns: {first}") from None
    return [column[0] for column in description or []]
