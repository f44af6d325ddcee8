"""The warehouse's side of a sync (reverse ETL, :mod:`headwater.syncs`) on DuckDB: what
is DuckDB's own in :class:`~headwater.engines.sync_read.SyncReadBase` (the comparison, the
state and the record are shared with PostgreSQL's).

A row's digest is md5 of the row as JSON (stable across DuckDB versions, unlike
``hash()``). The read runs in one transaction on the run's cursor, in UTC so instants are
sent as the warehouse keeps them; the cursor's TimeZone is restored at the end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from headwater.engines.base import STATE_SCHEMA
from headwater.engines.duckdb.sql import ident
from headwater.engines.sync_read import SyncReadBase, first_line, has_state, state_table
from headwater.errors import EngineError


@dataclass
class SyncRead(SyncReadBase):
    """The changes of one sync on a DuckDB cursor (:class:`SyncReadBase`), which
    :meth:`close` also returns to the TimeZone it had before the sync."""

    driver_error = duckdb.Error

    cur: duckdb.DuckDBPyConnection
    zone: str = "UTC"  # the cursor's TimeZone before the sync, restored by close()

    def close(self) -> None:
        """Roll back what was not committed (twice is harmless); the TimeZone as it was."""
        super().close()
        with contextlib.suppress(duckdb.Error):  # the run's cursor: as the sync found it
            self.cur.execute("set TimeZone = ?", [self.zone])

    def _digest(self) -> str:
        fields = ", ".join(f"{ident(c)} := {ident(c)}" for c in self.columns)
        return f"md5(to_json(struct_pack({fields}))::varchar)"

    def _stream(self, sql: str, batch_rows: int) -> pa.RecordBatchReader:
        return self.cur.execute(sql).to_arrow_reader(batch_rows)

    def _fetch(self, sql: str) -> pa.Table:
        return self.cur.execute(sql).to_arrow_table()


def model_columns(cur: duckdb.DuckDBPyConnection, model: str) -> list[str]:
    """The columns of warehouse table or view ``model`` (schema.table), in order; empty
    when it does not exist (not built yet)."""
    schema, _, table = model.partition(".")
    rows = cur.execute(
        "select column_name from information_schema.columns where table_schema = ? "
        "and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [str(r[0]) for r in rows]


@contextlib.contextmanager
def sync_read(
    cur: duckdb.DuckDBPyConnection,
    *,
    sync: str,
    model: str,
    key: list[str],
    columns: list[str],
    deletes: bool,
) -> Iterator[SyncRead]:
    """A :class:`SyncRead` of sync ``sync`` in a transaction begun on ``cur`` (in UTC, so
    instants are sent as the warehouse keeps them), rolled back at the end unless committed.
    ``cur`` may be read-only (a dry run) as long as nothing is committed."""
    state = state_table(sync)
    try:
        zone = cur.execute("select current_setting('TimeZone')").fetchone()
        cur.execute("begin transaction")
        cur.execute("set TimeZone = 'UTC'")
        found = cur.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [STATE_SCHEMA, state],
        ).fetchone()
        kept = set(model_columns(cur, f"{STATE_SCHEMA}.{state}")) if found and found[0] else set()
    except duckdb.Error as exc:
        raise EngineError(f"sync {sync!r}: {first_line(exc)}") from None
    read = SyncRead(
        cur, model, key, columns, state, deletes, has_state(kept, key),
        zone=str(zone[0] if zone else "UTC"),
    )  # fmt: skip
    try:
        yield read
    finally:
        read.close()
