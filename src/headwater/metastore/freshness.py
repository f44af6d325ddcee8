"""What the overview page shows at a glance: :class:`Freshness`, the part of
:class:`~headwater.metastore.store.Metastore` that reads when each asset was last built and
which checks fail now, whatever the history's length: one index lookup per asset
(``ix_step_runs_step_status_finished_at``) and one grouped query over the latest check
results (``ix_check_results_asset_at``).
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from headwater.metastore import tables as t

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
        over all steps would read every step row of the history)."""
        st = t.step_runs
        query = sa.select(sa.func.max(st.c.finished_at)).where(
            st.c.step == sa.bindparam("step"), st.c.status == "success"
        )
        # max() loses the column type on SQLite: convert through UTCDateTime's reader
        convert = t.UTCDateTime().process_result_value
        out: dict[str, datetime] = {}
        with self._read() as conn:
            for step in steps:
                at = convert(conn.execute(query, {"step": step}).scalar(), None)  # type: ignore[arg-type]
                if at is not None:
                    out[step] = at
        return out

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


def _state(r: sa.Row[tuple[object, ...]]) -> CheckState:
    m = r._mapping
    return CheckState(
        m["asset"], m["check_name"], m["status"], m["severity"], int(m["failing"]),
        bool(m["quarantined"]), m["message"], m["at"], m["run_id"],
    )  # fmt: skip
