"""The runs grid's reads: :class:`RunGrid`, the part of
:class:`~headwater.metastore.store.Metastore` that reads a page of runs and all their steps
in a fixed number of set-based queries (never one query per run): the web UI's runs grid
shows 1,000 runs of a 100-step pipeline, 100,000 step rows, in one page.

Contract: :meth:`RunGrid.grid_runs` is one page of runs, newest first, filtered, with the
count of all that match; :meth:`RunGrid.grid_cells` the compact step rows of those runs
(one ``IN`` query per :data:`IDS_PER_QUERY` runs). Only the columns the grid shows are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from headwater.metastore import tables as t
from headwater.metastore.database import SecondsBetween
from headwater.metastore.records import RunRecord, _run_record

__all__ = ["IDS_PER_QUERY", "GridCellRow", "RunFilter", "RunGrid"]

IDS_PER_QUERY = 1000
"""Run ids per ``IN (...)`` of :meth:`RunGrid.grid_cells` (SQLite allows 32,766 bound
values; PostgreSQL plans a long list slower than a few shorter ones)."""


@dataclass(frozen=True)
class RunFilter:
    """Which runs: of ``pipeline``, with ``status``, started in ``[since, until)``; None
    means any."""

    pipeline: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


GridCellRow = tuple[str, str, str, int, float | None]
"""One step of one run as the grid shows it: run id, step, status, attempts, seconds from
its start to its end (None until both are known); no error, rows or log."""


class RunGrid:
    """Reads for the runs grid. A base of :class:`~headwater.metastore.store.Metastore`,
    which provides the connections (:meth:`_read`)."""

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def grid_runs(
        self, where: RunFilter, *, limit: int, offset: int = 0
    ) -> tuple[list[RunRecord], int]:
        """Runs matching ``where``, newest first (ties by run id, descending), at most
        ``limit`` from ``offset``; and how many match in all. Two queries."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must be >= 0")
        runs = t.runs
        conditions = _conditions(where)
        page = (
            sa.select(runs)
            .where(*conditions)
            .order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
            .limit(limit)
            .offset(offset)
        )
        count = sa.select(sa.func.count()).select_from(runs).where(*conditions)
        with self._read() as conn:
            records = [_run_record(row) for row in conn.execute(page)]
            total = int(conn.execute(count).scalar_one())
        return records, total

    def grid_cells(self, run_ids: Sequence[str]) -> list[GridCellRow]:
        """The steps of ``run_ids`` (status, attempts, seconds), in no set order."""
        st = t.step_runs
        # durations computed by the database: reading 200,000 instants into Python to
        # subtract them was most of a 1,000-run page's time
        query = sa.select(
            st.c.run_id,
            st.c.step,
            st.c.status,
            st.c.attempts,
            SecondsBetween(st.c.started_at, st.c.finished_at),
        ).where(st.c.run_id.in_(sa.bindparam("ids", expanding=True)))
        out: list[GridCellRow] = []
        with self._read() as conn:
            for at in range(0, len(run_ids), IDS_PER_QUERY):
                chunk = list(run_ids[at : at + IDS_PER_QUERY])
                out.extend(conn.execute(query, {"ids": chunk}).all())
        return out

    def pipelines(self) -> list[str]:
        """Every pipeline name recorded with a run, sorted (the grid's filter choices)."""
        query = (
            sa.select(t.runs.c.pipeline)
            .where(t.runs.c.pipeline.is_not(None))
            .distinct()
            .order_by(t.runs.c.pipeline)
        )
        with self._read() as conn:
            return [row[0] for row in conn.execute(query)]


def _conditions(where: RunFilter) -> list[sa.ColumnElement[bool]]:
    runs = t.runs
    out: list[sa.ColumnElement[bool]] = []
    if where.pipeline is not None:
        out.append(runs.c.pipeline == where.pipeline)
    if where.status is not None:
        out.append(runs.c.status == where.status)
    if where.since is not None:
        out.append(runs.c.started_at >= where.since)
    if where.until is not None:
        out.append(runs.c.started_at < where.until)
    return out
