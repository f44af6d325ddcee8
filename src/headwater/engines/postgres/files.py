"""File sources on PostgreSQL: the server cannot read this machine's files
(``native_file_scan`` is empty), so a load's ``scan_sql`` (the project's file scan, written
in DuckDB's dialect by :mod:`headwater.sources.files`) runs here, in an embedded in-memory
DuckDB, and its rows stream to the warehouse as Arrow batches through binary COPY. The
files are parsed by the same reader as on a DuckDB warehouse, so they give the same rows,
and the same rejected lines (``rejects_sql`` reads the scan's reject tables in that DuckDB).
A source's check of its folder keys reads the files' columns the same way
(:meth:`LocalScan.columns`), never on the server, which cannot run DuckDB's readers.

Files in S3 are read by that DuckDB too, through httpfs, with the buckets the engine was
given by ``open_bucket``: a scan that reads ``s3://bucket/...`` gets the bucket's secret,
scoped to it, as a DuckDB warehouse does (``use_bucket`` of
:mod:`headwater.engines.duckdb.object_store`); a scan of local files loads no extension.
Errors never show a secret.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa

from headwater.config.secrets import redact_text
from headwater.engines.duckdb.object_store import use_bucket
from headwater.engines.postgres.object_store import BucketAccess
from headwater.errors import SourceError

_BATCH_ROWS = 65536

#: bucket name -> its ``s3://`` connection, as ``PostgresEngine.open_bucket`` was given them
Buckets = Mapping[str, BucketAccess]


class LocalScan:
    """One load's scan in its own in-memory DuckDB: :meth:`batches` streams the rows,
    then :meth:`rejects` gives the lines the scan left out."""

    def __init__(self, where: str, buckets: Buckets | None = None) -> None:
        self.where = where  # "schema.table", for messages
        self._buckets = dict(buckets or {})
        self._secrets: list[str] = []  # of the buckets opened: never in a message
        self._con = duckdb.connect(":memory:")

    def batches(self, scan_sql: str) -> pa.RecordBatchReader:
        """The scan's rows (SourceError with DuckDB's first line when it cannot start)."""
        self._open_buckets(scan_sql)
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

    def columns(self, probe_sql: str) -> list[str]:
        """The column names of ``probe_sql`` (a ``limit 0`` file scan), read as
        :meth:`batches` reads the rows (SourceError when the files cannot be read)."""
        self._open_buckets(probe_sql)
        try:
            description = self._con.execute(probe_sql).description
        except duckdb.Error as exc:
            raise self.error(exc) from None
        return [column[0] for column in description or []]

    def rejects(self, rejects_sql: str) -> list[tuple[Any, ...]]:
        """(file, line, column, error, raw) of each rejected line, in file and line order."""
        sql = f'select file, line, "column", error, raw from ({rejects_sql}) as _hw_rejects'
        return [tuple(r) for r in self._con.execute(sql).fetchall()]

    def _open_buckets(self, scan_sql: str) -> None:
        """Give this DuckDB the secret of each bucket the scan reads (httpfs loaded then)."""
        for bucket, access in self._buckets.items():
            if f"s3://{bucket}/" in scan_sql:
                use_bucket(self._con, f"s3://{bucket}", access)
                self._secrets += [access.secret, access.session_token]

    def error(self, exc: BaseException) -> SourceError:
        """One line: the table and DuckDB's first line (which names the file and, for
        S3, the endpoint's URL of the object), no secret in it."""
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return SourceError(f"{self.where}: {redact_text(first, also=self._secrets)}")

    def close(self) -> None:
        self._con.close()


@contextmanager
def local_scan(where: str, buckets: Buckets | None = None) -> Iterator[LocalScan]:
    """A :class:`LocalScan` (reading ``buckets``' files in S3), closed after the block."""
    scan = LocalScan(where, buckets)
    try:
        yield scan
    finally:
        scan.close()
