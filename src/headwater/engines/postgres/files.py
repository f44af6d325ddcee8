"""File sources on PostgreSQL: the server cannot read this machine's files
(``native_file_scan`` is empty), so a load's ``scan_sql`` (the project's file scan, written
in DuckDB's dialect by :mod:`headwater.sources.files`) runs here, in an embedded in-memory
DuckDB, and its rows stream to the warehouse as Arrow batches through binary COPY. The
files are parsed by the same reader as on a DuckDB warehouse, so they give the same rows,
and the same rejected lines (``rejects_sql`` reads the scan's reject tables in that DuckDB).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa

from headwater.errors import SourceError

_BATCH_ROWS = 65536


class LocalScan:
    """One load's scan in its own in-memory DuckDB: :meth:`batches` streams the rows,
    then :meth:`rejects` gives the lines the scan left out."""

    def __init__(self, where: str) -> None:
        self.where = where  # "schema.table", for messages
        self._con = duckdb.connect(":memory:")

    def batches(self, scan_sql: str) -> pa.RecordBatchReader:
        """The scan's rows (SourceError with DuckDB's first line when it cannot start)."""
        try:
            reader = self._con.execute(scan_sql).to_arrow_reader(_BATCH_ROWS)
        except duckdb.Error as exc:
            raise self.error(exc) from None
        return pa.RecordBatchReader.from_batches(reader.schema, self._checked(reader))

    def _checked(self, reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except duckdb.Error as exc:  # a bad line found past the first batch
            raise self.error(exc) from None

    def rejects(self, rejects_sql: str) -> list[tuple[Any, ...]]:
        """(file, line, column, error, raw) of each rejected line, in file and line order."""
        sql = f'select file, line, "column", error, raw from ({rejects_sql}) as _hw_rejects'
        return [tuple(r) for r in self._con.execute(sql).fetchall()]

    def error(self, exc: BaseException) -> SourceError:
        return SourceError(f"{self.where}: {str(exc).splitlines()[0]}")

    def close(self) -> None:
        self._con.close()


@contextmanager
def local_scan(where: str) -> Iterator[LocalScan]:
    """A :class:`LocalScan`, closed after the block."""
    scan = LocalScan(where)
    try:
        yield scan
    finally:
        scan.close()
