"""History retention: :class:`HistoryRetention`, the part of
:class:`~headwater.metastore.store.Metastore` that deletes old runs.

A run is *old* when it started before the cutoff and is over (never ``queued`` or
``running``: a run going on is never pruned, however old). Pruning deletes, in one
transaction, the old runs with their steps, attempts and check results, and the finished
intervals of the ledger (``success``, ``failed``, ``cancelled``) that finished before the
cutoff, except each pipeline's newest interval and every interval of the pipelines named in
``keep_intervals_of`` (a ``catchup = "all"`` schedule would enqueue a deleted interval again).
The caller deletes the runs' log folders after the commit.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from headwater.metastore import tables as t

__all__ = ["HistoryRetention", "PrunedHistory"]

_FINISHED_INTERVALS = ("success", "failed", "cancelled")


@dataclass(frozen=True)
class PrunedHistory:
    """What a prune deleted (or, dry, would delete): the runs' ids and the interval count."""

    runs: list[str]
    intervals: int


class HistoryRetention:
    """Deletes old history. A base of :class:`~headwater.metastore.store.Metastore`, which
    provides the transactions (:meth:`_write`)."""

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def prune_history(
        self, before: datetime, *, keep_intervals_of: tuple[str, ...] = (), dry: bool = False
    ) -> PrunedHistory:
        """Delete the history older than ``before`` (see the module docstring) in one
        transaction; ``dry``: delete nothing, say what would go."""
        runs, iv = t.runs, t.intervals
        old = sa.select(runs.c.run_id).where(
            runs.c.started_at < before, runs.c.status.not_in(("queued", "running"))
        )
        later = iv.alias("later")
        newest = (
            sa.select(sa.func.max(later.c.interval_start))
            .where(later.c.pipeline == iv.c.pipeline)
            .scalar_subquery()
        )
        old_intervals = sa.and_(
            iv.c.status.in_(_FINISHED_INTERVALS),
            iv.c.finished_at < before,
            iv.c.pipeline.not_in(keep_intervals_of),
            iv.c.interval_start < newest,
        )
        with self._write() as conn:
            run_ids = sorted(conn.execute(old).scalars())
            if dry:
                count = conn.execute(
                    sa.select(sa.func.count()).select_from(iv).where(old_intervals)
                ).scalar()
                return PrunedHistory(run_ids, int(count or 0))
            for chunk in _chunks(run_ids, 500):  # a bounded IN list per statement
                for table in (t.check_results, t.attempts, t.step_runs, runs):
                    conn.execute(table.delete().where(table.c.run_id.in_(chunk)))
            removed = conn.execute(iv.delete().where(old_intervals)).rowcount
        return PrunedHistory(run_ids, int(removed or 0))


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
