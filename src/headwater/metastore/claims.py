"""The shared run queue: :class:`RunClaims`, the part of
:class:`~headwater.metastore.store.Metastore` through which several servers on one metastore
take queued runs, each run by exactly one of them.

A run asked of any server is recorded ``queued`` with ``claimed_by`` NULL. A server with a
free worker calls :meth:`RunClaims.claim_next_run`: in one transaction it selects the first
unclaimed queued run (highest priority, then oldest) ``FOR UPDATE SKIP LOCKED`` and writes its
own id into ``claimed_by``. On PostgreSQL a row another transaction is claiming is skipped, not
waited for, so two servers claiming at once take two different runs; the ``claimed_by IS NULL``
condition of the ``UPDATE`` is the last word (a run is never claimed twice). On SQLite
``FOR UPDATE`` is not emitted and the write transaction (``BEGIN IMMEDIATE``) serialises the
claimants instead: same result, one writer at a time.

The end of a claimed run settles its scheduled interval (:meth:`RunClaims.settle_interval`),
whichever server ran it: only the ledger row whose ``run_id`` is that run's changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from headwater.metastore import tables as t
from headwater.metastore.records import RunRecord, _check_id, _run_record

__all__ = ["RunClaims"]

_FINISHING = frozenset({"success", "failed", "cancelled"})


class RunClaims:
    """Claims of queued runs by servers. A base of
    :class:`~headwater.metastore.store.Metastore`, which provides the transactions."""

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def claim_next_run(
        self, server_id: str, priorities: Mapping[str, int] | None = None
    ) -> RunRecord | None:
        """Claim the next unclaimed ``queued`` run for ``server_id`` and return it (still
        ``queued``: :meth:`begin_run` turns it ``running``); None when none waits.

        Order: highest ``priorities[pipeline]`` first (a pipeline not named, or a run of no
        pipeline, has 0), then the oldest (``started_at``: when it was queued), then run id.
        """
        _check_id("server_id", server_id)
        runs = t.runs
        rank: sa.ColumnElement[int] = sa.literal(0)
        ranked = {name: p for name, p in (priorities or {}).items() if p}
        if ranked:
            rank = sa.case(ranked, value=runs.c.pipeline, else_=0)
        pick = (
            sa.select(runs)
            .where(runs.c.status == "queued", runs.c.claimed_by.is_(None))
            .order_by(rank.desc(), runs.c.started_at, runs.c.run_id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        with self._write() as conn:
            row = conn.execute(pick).first()
            if row is None:
                return None
            taken = conn.execute(
                runs.update()
                .where(runs.c.run_id == row.run_id, runs.c.claimed_by.is_(None))
                .values(claimed_by=server_id)
            )
            return _run_record(row) if taken.rowcount == 1 else None

    def release_claim(self, run_id: str, server_id: str) -> bool:
        """Give back a run ``server_id`` claimed but has not begun (still ``queued``), for
        any server to take. False when it is not such a run."""
        runs = t.runs
        with self._write() as conn:
            result = conn.execute(
                runs.update()
                .where(
                    runs.c.run_id == run_id,
                    runs.c.status == "queued",
                    runs.c.claimed_by == server_id,
                )
                .values(claimed_by=None)
            )
        return result.rowcount == 1

    def drop_queued_run(self, run_id: str) -> bool:
        """Record a ``queued`` run ``interrupted`` (a cancel: it will not run), whoever
        queued it. False when it is no longer queued (a server began it meanwhile)."""
        runs = t.runs
        with self._write() as conn:
            result = conn.execute(
                runs.update()
                .where(runs.c.run_id == run_id, runs.c.status == "queued")
                .values(status="interrupted", finished_at=datetime.now(UTC))
            )
        return result.rowcount == 1

    def claimed_by(self, run_id: str) -> str | None:
        """The server that claimed run ``run_id`` (None: none, or no such run)."""
        query = sa.select(t.runs.c.claimed_by).where(t.runs.c.run_id == run_id)
        with self._read() as conn:
            return conn.execute(query).scalar_one_or_none()

    def settle_interval(self, pipeline: str, start: datetime, run_id: str, status: str) -> bool:
        """Record the end of run ``run_id`` in the ledger row of ``pipeline`` at ``start``
        that this run claimed: ``success``, ``failed`` and ``cancelled`` (by a user) finish
        it; any other status (``interrupted``: a stopped server, a dead one) puts it back to
        ``queued`` so that another run builds it. False when the row is not ``running`` for
        this run (not a ledger interval, or settled already): nothing changes."""
        table = t.intervals
        values: dict[str, object]
        if status in _FINISHING:
            values = {"status": status, "finished_at": datetime.now(UTC)}
        else:
            values = {"status": "queued", "started_at": None}
        with self._write() as conn:
            result = conn.execute(
                table.update()
                .where(
                    table.c.pipeline == pipeline,
                    table.c.interval_start == start,
                    table.c.status == "running",
                    table.c.run_id == run_id,
                )
                .values(**values)
            )
        return result.rowcount == 1
