"""Which data intervals of each partitioned model are built or failed: :class:`PartitionLedger`,
the part of :class:`~headwater.metastore.store.Metastore` that writes and reads
``asset_partitions``.

One row per (asset, grain unit), holding the outcome of the unit's last build (``built`` or
``failed``), the run that built it and when. A unit with no row was never built: *missing* is
computed by the caller (it knows the range and the grain). Portable SQLAlchemy Core: an upsert
is a delete and an insert in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from headwater.metastore import tables as t
from headwater.metastore.records import _check_choice, _check_id

__all__ = ["PARTITION_STATUSES", "PartitionLedger", "PartitionRecord"]

PARTITION_STATUSES = frozenset({"built", "failed"})


@dataclass(frozen=True, slots=True)
class PartitionRecord:
    """One grain unit ``[partition_start, partition_end)`` of a partitioned asset."""

    asset: str
    partition_start: datetime
    partition_end: datetime
    status: str
    run_id: str
    built_at: datetime


class PartitionLedger:
    """Writes and reads ``asset_partitions``; a base of the Metastore, which provides the
    transactions. Datetimes given must be aware; those returned are aware UTC."""

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def record_partitions(
        self,
        asset: str,
        units: Iterable[tuple[datetime, datetime]],
        status: str,
        run_id: str,
    ) -> None:
        """Record the outcome ``status`` (built, failed) of ``asset``'s units built by
        ``run_id`` now, replacing what an earlier build recorded, in one transaction."""
        _check_id("asset", asset)
        _check_choice("partition status", status, PARTITION_STATUSES)
        table = t.asset_partitions
        now = datetime.now(UTC)
        rows = [
            {
                "asset": asset,
                "partition_start": start.astimezone(UTC),
                "partition_end": end.astimezone(UTC),
                "status": status,
                "run_id": run_id,
                "built_at": now,
            }
            for start, end in units
        ]
        if not rows:
            return
        with self._write() as conn:
            conn.execute(
                table.delete().where(
                    table.c.asset == asset,
                    table.c.partition_start.in_([r["partition_start"] for r in rows]),
                )
            )
            conn.execute(table.insert(), rows)

    def partitions(
        self, asset: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[PartitionRecord]:
        """The recorded units of ``asset`` (starting in ``[start, end)`` when given), by start."""
        table = t.asset_partitions
        query = sa.select(table).where(table.c.asset == asset)
        if start is not None:
            query = query.where(table.c.partition_start >= start)
        if end is not None:
            query = query.where(table.c.partition_start < end)
        with self._read() as conn:
            rows = conn.execute(query.order_by(table.c.partition_start))
            return [PartitionRecord(**row._asdict()) for row in rows]
