"""``headwater.read(asset)``: a warehouse table (a model or a source) as Arrow, pandas or
polars, for notebooks and ML code.

In-process the warehouse is opened read-only (WarehouseBusy while a run writes it); a
server answers ``GET /api/read/{asset}`` with the same rows as an Arrow IPC stream, written
batch by batch (:func:`ipc_chunks`). Either way the statement is one SELECT guarded as
``headwater query``'s through a server (warehouse tables only), so ``where=`` is a filter,
never a way out: ``where="1=1; drop table x"`` is refused.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from headwater.api.project import (
    ProjectLike,
    as_project,
    has_warehouse,
    open_warehouse,
    shared_engine,
    warehouse_in_use,
)
from headwater.errors import HeadwaterError, ProjectError, UnknownAssetError
from headwater.project import Project

if TYPE_CHECKING:
    import pyarrow as pa

Format = Literal["arrow", "pandas", "polars"]
FORMATS: tuple[str, ...] = ("arrow", "pandas", "polars")
ARROW_STREAM = "application/vnd.apache.arrow.stream"


def read_sql(
    project: Project,
    asset: str,
    *,
    columns: list[str] | None = None,
    where: str | None = None,
    limit: int | None = None,
) -> str:
    """The SELECT reading ``asset`` (full or short name of a model or source). Raises
    UnknownAssetError naming the closest assets."""
    graph = project.graph
    found = [
        a for a in graph if a.schema and a.table and asset in (a.name, a.short_name)
    ]  # a task or a sync has no table to read
    if len(found) != 1:
        if len(found) > 1:
            names = ", ".join(sorted(a.name for a in found))
            raise UnknownAssetError(f"asset {asset!r} is ambiguous: {names}; qualify it")
        tables = sorted(a.name for a in graph if a.schema and a.table)
        close = difflib.get_close_matches(asset, tables, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UnknownAssetError(f"no model or source {asset!r} in the project{hint}")
    node = found[0]
    assert node.schema is not None and node.table is not None
    cols = ", ".join(_ident(c) for c in columns) if columns else "*"
    sql = f"select {cols} from {_ident(node.schema)}.{_ident(node.table)}"
    if where:
        sql += f" where {where}"
    if limit is not None:
        if limit < 0:
            raise ProjectError(f"limit must be 0 or more, not {limit}")
        sql += f" limit {int(limit)}"
    return sql


def read_stream(
    project: ProjectLike,
    asset: str,
    *,
    columns: list[str] | None = None,
    where: str | None = None,
    limit: int | None = None,
) -> Any:
    """``asset``'s rows as a stream of Arrow batches (``.schema``, iterate once; ``close()``):
    on a server's warehouse through a cursor of its own, else the warehouse opened
    read-only for the stream (with any engine: ``Engine.export_batches``).
    EngineError (one line) for a refused or failing statement."""
    proj = as_project(project)
    return warehouse_stream(proj, read_sql(proj, asset, columns=columns, where=where, limit=limit))


def warehouse_stream(project: Project, sql: str, *, limit: int | None = None) -> Any:
    """``sql``'s answer (one guarded SELECT, at most ``limit`` rows) as a stream of Arrow
    batches (``Engine.export_batches``): on a server's warehouse through a cursor of its
    own, else the warehouse opened read-only for the stream alone (closed with it).
    HeadwaterError when there is no warehouse yet, WarehouseBusy naming the run."""
    shared = shared_engine(project)
    if shared is not None:
        return shared.export_batches(sql, limit=limit)
    if not has_warehouse(project):
        raise HeadwaterError(
            f"{project.warehouse_path}: no warehouse yet (run `headwater run` first)"
        )
    with warehouse_in_use(project):
        engine = open_warehouse(project, read_only=True)
    try:
        return OwnedStream(engine.export_batches(sql, limit=limit), engine)
    except BaseException:
        engine.close()
        raise


class OwnedStream:
    """A stream of batches of an engine opened for it alone: closing one closes both."""

    def __init__(self, stream: Any, engine: Any) -> None:
        self._stream, self._engine = stream, engine

    @property
    def schema(self) -> pa.Schema:
        return self._stream.schema

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return iter(self._stream)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._engine.close()


def read_table(
    project: ProjectLike,
    asset: str,
    *,
    columns: list[str] | None = None,
    where: str | None = None,
    limit: int | None = None,
) -> pa.Table:
    """``asset``'s rows, in-process, as one Arrow table."""
    import pyarrow as pa

    stream = read_stream(project, asset, columns=columns, where=where, limit=limit)
    try:
        return pa.Table.from_batches(list(stream), schema=stream.schema)
    finally:
        stream.close()


def ipc_chunks(stream: Any) -> Iterator[bytes]:
    """``stream`` as the bytes of an Arrow IPC stream, a batch at a time."""
    import pyarrow as pa

    from headwater.api.exports import _Sink  # bytes taken out as they are written

    sink = _Sink()
    writer = pa.ipc.new_stream(pa.PythonFile(sink, mode="w"), stream.schema)
    try:
        for batch in stream:
            writer.write_batch(batch)
            yield sink.take()
        writer.close()
        yield sink.take()
    finally:
        stream.close()


def from_ipc(data: bytes) -> pa.Table:
    """The table of an Arrow IPC stream's bytes."""
    import pyarrow as pa

    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def convert(table: pa.Table, as_: str) -> Any:
    """``table`` as ``as_``: ``arrow`` (itself), ``pandas`` or ``polars`` (ProjectError if
    that library is not installed, or for another format)."""
    if as_ == "arrow":
        return table
    if as_ == "pandas":
        _require("pandas")
        return table.to_pandas()
    if as_ == "polars":
        polars = _require("polars")
        return polars.from_arrow(table)
    raise ProjectError(f"as_ must be one of {', '.join(FORMATS)}, not {as_!r}")


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ProjectError(f"as_={module!r} needs {module}: pip install {module}") from None


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
