"""The ledger of scheduled data intervals: :class:`IntervalLedger`, the part of
:class:`~headwater.metastore.store.Metastore` that enqueues, claims and finishes them.

Exactly once comes from the table's unique key ``(pipeline, interval_start)``, not from the
callers taking turns: :meth:`IntervalLedger.enqueue_intervals` inserts each interval in its
own savepoint and skips the ones whose insert hits the key, so two schedulers (threads,
processes, servers on one PostgreSQL) enqueueing the same interval never both get it.
:meth:`IntervalLedger.claim_interval` is one conditional ``UPDATE`` (``queued`` ->
``running``): of several claimants, one sees a row changed. Portable SQLAlchemy Core: the
same statements on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from headwater.metastore import tables as t
from headwater.metastore.records import (
    INTERVAL_STATUSES,
    IntervalRecord,
    _check_choice,
    _check_id,
    _interval_record,
)

__all__ = ["ACTIVE_STATUSES", "FINAL_STATUSES", "IntervalLedger"]

ACTIVE_STATUSES = frozenset({"queued", "running"})
"""The statuses that count against a pipeline's ``max_active_runs``."""
FINAL_STATUSES = INTERVAL_STATUSES - ACTIVE_STATUSES


class IntervalLedger:
    """Writes and reads ``intervals``. A base of :class:`~headwater.metastore.store.Metastore`,
    which provides the transactions (:meth:`_write`, :meth:`_read`). Every datetime given
    must be aware; every datetime returned is aware UTC."""

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def enqueue_intervals(
        self, pipeline: str, intervals: Iterable[tuple[datetime, datetime]]
    ) -> list[IntervalRecord]:
        """Insert each ``(start, end)`` of ``pipeline`` not in the ledger yet, status
        ``queued``, in one transaction; return the ones this call inserted, in the order
        given. An interval already there (any status, from any caller) is left as it is.
        """
        _check_id("pipeline", pipeline)
        table = t.intervals
        now = datetime.now(UTC)
        new: list[IntervalRecord] = []
        with self._write() as conn:
            for start, end in intervals:
                if start.tzinfo is None or end.tzinfo is None:
                    raise ValueError(
                        f"naive datetime in interval [{start}, {end}) of {pipeline!r}; "
                        "pass timezone-aware datetimes"
                    )
                if not start < end:
                    raise ValueError(f"empty interval [{start}, {end}) of {pipeline!r}")
                record = IntervalRecord(
                    pipeline, start.astimezone(UTC), end.astimezone(UTC), "queued",
                    None, now, None, None, 0,
                )  # fmt: skip
                try:
                    # a savepoint: the key's refusal undoes this insert, not the transaction
                    with conn.begin_nested():
                        conn.execute(table.insert().values(**asdict(record)))
                except sa.exc.IntegrityError:
                    continue
                new.append(record)
        return new

    def claim_interval(self, pipeline: str, start: datetime, run_id: str) -> bool:
        """Mark the ``queued`` interval of ``pipeline`` starting at ``start`` ``running`` for
        ``run_id`` (started now, one more attempt). True for the one caller that did; False
        when it is not queued (claimed already, finished, or unknown)."""
        _check_id("run_id", run_id)
        table = t.intervals
        return self._move(
            pipeline,
            start,
            table.c.status == "queued",
            status="running",
            run_id=run_id,
            started_at=datetime.now(UTC),
            attempts=table.c.attempts + 1,
        )

    def requeue_interval(self, pipeline: str, start: datetime, run_id: str) -> bool:
        """Put the interval of ``pipeline`` at ``start`` that ``run_id`` claimed back to
        ``queued`` (its run never started or died with its process: a restarted server
        claims it again). False when it is not running for ``run_id``."""
        table = t.intervals
        return self._move(
            pipeline,
            start,
            table.c.status == "running",
            table.c.run_id == run_id,
            status="queued",
            started_at=None,
        )

    def finish_interval(self, pipeline: str, start: datetime, status: str) -> bool:
        """Set the final ``status`` (``success``, ``failed``, ``cancelled``) of an interval
        still queued or running, finished now. False when it was not active (unknown or
        already final: a late second finish changes nothing). ``ValueError`` for another
        status."""
        _check_choice("final interval status", status, FINAL_STATUSES)
        return self._move(
            pipeline,
            start,
            t.intervals.c.status.in_(sorted(ACTIVE_STATUSES)),
            status=status,
            finished_at=datetime.now(UTC),
        )

    def reopen_interval(self, pipeline: str, start: datetime, statuses: Iterable[str]) -> bool:
        """Put a finished interval of ``pipeline`` at ``start`` whose status is one of
        ``statuses`` (final ones) back to ``queued`` (backfill's reprocessing). False when
        it is not in one of them (active, or unknown)."""
        chosen = sorted(set(statuses) & FINAL_STATUSES)
        return self._move(
            pipeline,
            start,
            t.intervals.c.status.in_(chosen),
            status="queued",
            run_id=None,
            started_at=None,
            finished_at=None,
        )

    def _move(self, pipeline: str, start: datetime, *conditions: Any, **values: Any) -> bool:
        """One conditional UPDATE of the interval of ``pipeline`` at ``start``: True for the
        one caller whose ``conditions`` held (the database decides between concurrent ones)."""
        table = t.intervals
        with self._write() as conn:
            result = conn.execute(
                table.update()
                .where(table.c.pipeline == pipeline, table.c.interval_start == start, *conditions)
                .values(**values)
            )
        return result.rowcount == 1

    def intervals(self, pipeline: str, status: str | None = None) -> list[IntervalRecord]:
        """The intervals of ``pipeline`` in the ledger (only those of ``status`` if given),
        by start."""
        table = t.intervals
        query = sa.select(table).where(table.c.pipeline == pipeline)
        if status is not None:
            _check_choice("interval status", status, INTERVAL_STATUSES)
            query = query.where(table.c.status == status)
        with self._read() as conn:
            rows = conn.execute(query.order_by(table.c.interval_start))
            return [_interval_record(row) for row in rows]

    def queued_intervals(self, pipelines: Collection[str]) -> list[IntervalRecord]:
        """The ``queued`` intervals of ``pipelines``, by start: one query for a scheduler's
        tick, whatever put them there (the clock, a backfill)."""
        table = t.intervals
        query = (
            sa.select(table)
            .where(table.c.status == "queued", table.c.pipeline.in_(sorted(pipelines)))
            .order_by(table.c.interval_start, table.c.pipeline)
        )
        with self._read() as conn:
            return [_interval_record(row) for row in conn.execute(query)]

    def active_count(self, pipeline: str) -> int:
        """How many intervals of ``pipeline`` are queued or running (``max_active_runs``)."""
        table = t.intervals
        query = sa.select(sa.func.count()).where(
            table.c.pipeline == pipeline, table.c.status.in_(sorted(ACTIVE_STATUSES))
        )
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())
