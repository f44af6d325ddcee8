"""A read-only query's answer as a file to download: CSV or Parquet, written batch by
batch as it is read (:class:`QueryExport`), so a large answer streams out without being
held in memory. The web UI's query page and ``GET /api/query/export`` serve it.

The statement is guarded as :func:`headwater.api.query` guards it (one SELECT or EXPLAIN,
read-only); at most :data:`EXPORT_ROW_CAP` rows are written (a documented cap: the
download says so in its ``X-Headwater-Row-Cap`` header, and a smaller ``limit`` may be
asked for).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from headwater.api.project import ProjectLike, as_project
from headwater.errors import HeadwaterError

EXPORT_ROW_CAP = 1_000_000
FORMATS = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


@dataclass
class QueryExport:
    """A download being written: its ``media_type``, ``filename`` (``query.csv``,
    ``query.parquet``), the ``columns``, the ``cap`` on its rows, and ``chunks()``: the
    file's bytes, piece by piece (iterate once; the statement's read ends with it)."""

    media_type: str
    filename: str
    columns: list[str]
    cap: int
    _stream: Any
    _format: str

    def chunks(self) -> Iterator[bytes]:
        """The file, a batch of rows at a time."""
        sink = _Sink()
        writer = _writer(self._format, sink, self._stream.schema)
        try:
            for batch in self._stream:
                writer.write_batch(batch)
                yield sink.take()
            writer.close()
            yield sink.take()
        finally:
            self._stream.close()

    def close(self) -> None:
        """End the statement's read without writing the file (a refused download)."""
        self._stream.close()


def export_query(project: ProjectLike, sql: str, fmt: str, limit: int | None = None) -> QueryExport:
    """Start writing ``sql``'s answer as ``fmt`` (``csv`` or ``parquet``), at most
    ``limit`` rows (:data:`EXPORT_ROW_CAP` at most). The statement runs now: HeadwaterError
    for an unknown format or no warehouse, EngineError for a refused or failing statement
    (one line), WarehouseBusy (without a server) while a run writes the warehouse."""
    from headwater.api.read import warehouse_stream

    if fmt not in FORMATS:
        raise HeadwaterError(f"export format must be csv or parquet, not {fmt!r}")
    cap = EXPORT_ROW_CAP if limit is None else max(0, min(int(limit), EXPORT_ROW_CAP))
    stream = warehouse_stream(as_project(project), sql, limit=cap)
    return QueryExport(FORMATS[fmt], f"query.{fmt}", list(stream.schema.names), cap, stream, fmt)


class _Sink(io.RawIOBase):
    """Where a writer puts the file: bytes taken out as they come, while ``tell()`` keeps
    counting (Parquet's footer records where each row group starts in the whole file)."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _writer(fmt: str, sink: _Sink, schema: Any) -> Any:
    import pyarrow as pa

    out = pa.PythonFile(sink, mode="w")
    if fmt == "csv":
        import pyarrow.csv as pacsv

        return pacsv.CSVWriter(out, schema)
    import pyarrow.parquet as pq

    return pq.ParquetWriter(out, schema)
