"""The connector contract: a database (or API) that yields a table's rows as Arrow batches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

import pyarrow as pa

from headwater.errors import ConnectionError_


@dataclass(frozen=True)
class ConnectorCapabilities:
    """What a connector can do, declared as data."""

    name: str
    incremental_cursor: bool  # can filter on a cursor column server-side
    custom_query: bool
    list_tables: bool
    parallel_ranges: bool  # can split a large table into key ranges read in parallel


@dataclass(frozen=True)
class TableRead:
    """What to read: a table (or a query), its columns, and the cursor window."""

    table: str | None
    query: str | None = None
    columns: list[str] | None = None
    cursor: str | None = None
    since: str | None = None  # lower bound of the cursor window
    inclusive: bool = True  # ">=" (boundary rows are re-read and recognised by the load) or ">"
    until: str | None = None  # exclusive upper bound (a bounded backfill window)
    batch_size: int = 50_000
    timeout: float | None = None  # seconds the step may take: the server may stop it then
    # what failed reads of this table taught its connector (see Connector.lesson), kept in
    # the asset's state: the connector reads the way that works from the start
    hints: frozenset[str] = frozenset()
    # CHAR(n) values: "trim" drops their trailing blanks (what the source's own comparisons
    # see), "keep" keeps them padded to n (see docs/types.md, docs/types-mysql.md)
    char_padding: Literal["trim", "keep"] = "trim"
    # the run's data interval [start, end) (aware; None: the run has none). With
    # ``interval_column`` only rows inside it are read; a custom query binds it as
    # :interval_start/:interval_end either way (headwater.sources.interval)
    interval: tuple[datetime, datetime] | None = None
    interval_column: str | None = None


class Connector(Protocol):
    """Reads tables as Arrow batches. A connector may also have ``lesson() -> str | None``:
    after a load of its last read failed, a hint under which the same read succeeds (it
    read optimistically, the fast way, and the data needs the careful way). The source step
    then loads again with that hint in :attr:`TableRead.hints` and keeps it in the state."""

    capabilities: ConnectorCapabilities

    def read(self, what: TableRead) -> pa.RecordBatchReader: ...
    def close(self) -> None: ...


def connector_for(url: str, *, root: Path, name: str) -> Connector:
    """Open the connector for ``url`` (already interpolated). ``name`` is used in errors."""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme == "sqlite":
        from headwater.sources.sqlite import SQLiteConnector

        return SQLiteConnector(url, root=root, name=name)
    if scheme in ("postgresql", "postgres"):
        from headwater.sources.postgres import PostgresConnector

        return PostgresConnector(url, name=name)
    if scheme in ("mysql", "mariadb"):
        from headwater.sources.mysql import MySQLConnector

        return MySQLConnector(url, name=name)
    raise ConnectionError_(
        f"connection {name!r}: unsupported scheme {scheme!r} (supported: sqlite, postgresql, "
        "mysql; files use files = '...')"
    )
