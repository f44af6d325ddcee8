"""Check results in the metastore: the ``check_results`` table, recording and reading it.

The table is ``headwater.metastore.tables.check_results`` (Alembic revision 0002).

One row per (run, asset, check): a step retried within a run overwrites its earlier rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from headwater.metastore.tables import check_results
from headwater.quality.runner import CheckResult


@dataclass(frozen=True)
class CheckRecord:
    """A recorded result (a :class:`CheckResult` plus where and when)."""

    run_id: str
    step: str
    at: datetime
    result: CheckResult


def ensure_table(engine: Engine) -> None:
    """Create ``check_results`` if missing (a bare engine in tests; the metastore migrates)."""
    check_results.metadata.create_all(engine, tables=[check_results])


def to_rows(
    results: Sequence[CheckResult],
    run_id: str,
    *,
    step: str | None = None,
    at: datetime | None = None,
) -> list[dict[str, Any]]:
    """The rows to insert for ``results`` (plain dicts: the metastore can take them as is)."""
    when = at or datetime.now(UTC)
    return [
        {
            "run_id": run_id,
            "asset": r.asset,
            "check_name": r.check,
            "step": step or r.asset,
            "check_type": r.type,
            "severity": r.severity,
            "status": r.status,
            "failing": r.failing,
            "total": r.total,
            "quarantined": int(r.quarantined),
            "message": r.message,
            "sample": json.dumps(list(r.sample), default=str) if r.sample else None,
            "duration_ms": round(r.duration * 1000),
            "at": when,
        }
        for r in results
    ]


def write_rows(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` on an open connection, replacing rows with the same key."""
    t = check_results
    for row in rows:
        conn.execute(
            t.delete().where(
                t.c.run_id == row["run_id"],
                t.c.asset == row["asset"],
                t.c.check_name == row["check_name"],
            )
        )
    if rows:
        conn.execute(t.insert(), list(rows))


def record(
    engine_sa: Engine,
    results: Sequence[CheckResult],
    run_id: str,
    *,
    step: str | None = None,
    at: datetime | None = None,
) -> None:
    """Record ``results`` of ``run_id`` in one transaction."""
    rows = to_rows(results, run_id, step=step, at=at)
    if rows:
        with engine_sa.begin() as conn:
            write_rows(conn, rows)


def history(
    engine_sa: Engine, check: str, limit: int = 20, *, asset: str | None = None
) -> list[CheckRecord]:
    """The latest ``limit`` results of the check named ``check`` (of ``asset``), newest first."""
    t = check_results
    query = sa.select(t).where(t.c.check_name == check)
    if asset is not None:
        query = query.where(t.c.asset == asset)
    query = query.order_by(t.c.at.desc(), t.c.run_id.desc()).limit(limit)
    with engine_sa.connect() as conn:
        return [_record(row) for row in conn.execute(query)]


def row_count_history(engine_sa: Engine, *, limit: int = 100) -> Callable[[str], list[int]]:
    """A ``history`` callable for :func:`~headwater.quality.runner.run_checks`.

    It returns the row counts an asset's ``row_count_anomaly`` checks measured in earlier
    runs, newest first, one per run, leaving out runs where that check failed or broke (an
    anomaly must not become the baseline).
    """
    t = check_results

    def counts(asset: str) -> list[int]:
        query = (
            sa.select(t.c.run_id, sa.func.max(t.c.total), sa.func.max(t.c.at))
            .where(
                t.c.asset == asset,
                t.c.check_type == "row_count_anomaly",
                t.c.status.in_(("pass", "warn")),
                t.c.total.is_not(None),
            )
            .group_by(t.c.run_id)
            .order_by(sa.func.max(t.c.at).desc())
            .limit(limit)
        )
        with engine_sa.connect() as conn:
            return [int(row[1]) for row in conn.execute(query)]

    return counts


def _record(row: sa.Row[Any]) -> CheckRecord:
    m = row._mapping
    result = CheckResult(
        check=m["check_name"],
        asset=m["asset"],
        type=m["check_type"],
        severity=m["severity"],
        status=m["status"],
        failing=int(m["failing"]),
        total=None if m["total"] is None else int(m["total"]),
        sample=tuple(json.loads(m["sample"])) if m["sample"] else (),
        message=m["message"],
        duration=m["duration_ms"] / 1000.0,
        quarantined=bool(m["quarantined"]),
    )
    return CheckRecord(run_id=m["run_id"], step=m["step"], at=m["at"], result=result)
