"""What the overview page shows at a glance: :class:`Freshness`, the part of
:class:`~headwater.metastore.store.Metastore` that reads when each asset was last built and
which checks fail now, whatever the history's length: one index lookup per asset
(``ix_step_runs_step_status_finished_at``) and one grouped query over the latest check
results (``ix_check_results_asset_at``).
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from headwater.metastore import tables as t
from headwater.metastore.records import RunRecord, _run_record

__all__ = ["CheckState", "Freshness"]


@dataclass(frozen=True, slots=True)
class CheckState:
    """The latest result of one check of one asset."""

    asset: str
    check_name: str
    status: str  # pass | warn | fail | error
    severity: str
    failing: int
    quarantined: bool
    message: str
    at: datetime
    run_id: str


class Freshness:
    """Reads for the overview. A base of the Metastore, which provides :meth:`_read`."""

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def last_successes(self, steps: Collection[str]) -> dict[str, datetime]:
        """When each of ``steps`` last finished with success (steps never built are absent).
        One lookup per step on ``ix_step_runs_step_status_finished_at`` (a grouped query
        over all steps would read every step row of the history), all in one statement of
        :data:`_PER_STATEMENT` lookups (a statement per step cost ~0.2 ms of SQLAlchemy
        each: 100 steps were most of the overview's time)."""
        # max() loses the column type on SQLite: convert through UTCDateTime's reader
        convert = t.UTCDateTime().process_result_value
        names = list(dict.fromkeys(steps))
        out: dict[str, datetime] = {}
        with self._read() as conn:
            for at in range(0, len(names), _PER_STATEMENT):
                chunk = names[at : at + _PER_STATEMENT]
                found = conn.execute(_last_successes(len(chunk)), _named(chunk)).one()
                for step, value in zip(chunk, found, strict=True):
                    when = convert(value, None)  # type: ignore[arg-type]
                    if when is not None:
                        out[step] = when
        return out

    def latest_runs(self, pipeline: str, limit: int) -> list[RunRecord]:
        """The ``limit`` runs of ``pipeline`` started last, newest first (ties by run id,
        descending, as the runs grid). The newest are found walking ``ix_runs_started_at``
        backwards: with the pipeline in the WHERE clause SQLite read the whole ``runs``
        table instead (its params are ~2 KB a row: 20 MB for 10,000 runs, tens of ms)."""
        runs = t.runs
        newest = (
            sa.select(runs.c.run_id)
            .where(runs.c.pipeline == pipeline)
            .order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
            .limit(limit)
        )
        query = (
            sa.select(runs)
            .where(runs.c.run_id.in_(newest.scalar_subquery()))
            .order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
        )
        with self._read() as conn:
            return [_run_record(row) for row in conn.execute(query)]

    def latest_checks(self, statuses: Collection[str] | None = None) -> list[CheckState]:
        """The latest result of every (asset, check), by asset and check; only those whose
        status is in ``statuses`` when given (e.g. ``{"fail", "error"}``)."""
        cr = t.check_results
        latest = (
            sa.select(cr.c.asset, cr.c.check_name, sa.func.max(cr.c.at).label("at"))
            .group_by(cr.c.asset, cr.c.check_name)
            .subquery()
        )
        query = (
            sa.select(cr)
            .join(
                latest,
                sa.and_(
                    cr.c.asset == latest.c.asset,
                    cr.c.check_name == latest.c.check_name,
                    cr.c.at == latest.c.at,
                ),
            )
            .order_by(cr.c.asset, cr.c.check_name)
        )
        if statuses is not None:
            query = query.where(cr.c.status.in_(list(statuses)))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [_state(r) for r in rows]


_PER_STATEMENT = 200  # lookups per statement (SQLite allows 999 parameters by default)


@functools.lru_cache(maxsize=16)
def _last_successes(n: int) -> sa.Select[Any]:
    """``SELECT (max finished_at of step s0), ..., (of s{n-1})``: one scalar subquery per
    step, each answered from the index's last entry; the same statement for each ``n``
    (SQLAlchemy's compiled cache then skips compiling it again)."""
    st = t.step_runs

    def latest(i: int) -> sa.ScalarSelect[Any]:
        where = (st.c.step == sa.bindparam(f"s{i}"), st.c.status == "success")
        return sa.select(sa.func.max(st.c.finished_at)).where(*where).scalar_subquery()

    return sa.select(*(latest(i) for i in range(n)))


def _named(steps: list[str]) -> dict[str, str]:
    return {f"s{i}": step for i, step in enumerate(steps)}


def _state(r: sa.Row[tuple[object, ...]]) -> CheckState:
    m = r._mapping
    return CheckState(
        m["asset"], m["check_name"], m["status"], m["severity"], int(m["failing"]),
        bool(m["quarantined"]), m["message"], m["at"], m["run_id"],
    )  # fmt: skip
