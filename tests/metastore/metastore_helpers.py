"""Helpers shared by the metastore tests (a distinct name: ``conftest`` is not importable
reliably when several test folders have one)."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from headwater.metastore import AmbiguousRunIdError, AttemptRecord, Metastore


def subprocess_env() -> dict[str, str]:
    """Environment for child Pythons that must import this checkout's ``headwater``."""
    import headwater.metastore

    package_root = Path(headwater.metastore.__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(package_root), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _is_utc(value: datetime | None) -> bool:
    return value is not None and value.tzinfo is not None and value.utcoffset() == timedelta(0)


def exercise_round_trip(ms: Metastore) -> None:
    """Every method once, with checks; shared by the SQLite and PostgreSQL tests."""
    t0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    ms.start_run(
        "run-1",
        project="shop",
        selection="+fct_sales",
        pipeline="daily",
        trigger="schedule",
        params={"full_refresh": False, "vars": {"day": "2025-03-01"}},
    )
    ms.start_run("run-2", project="shop", selection=None, trigger="retry", parent_run_id="run-1")

    run = ms.get_run("run-1")
    assert run is not None
    assert (run.project, run.pipeline, run.selection, run.trigger) == (
        "shop",
        "daily",
        "+fct_sales",
        "schedule",
    )
    assert run.status == "running"
    assert run.finished_at is None
    assert run.pid == os.getpid()
    assert run.hostname == socket.gethostname()
    assert run.params == {"full_refresh": False, "vars": {"day": "2025-03-01"}}
    assert _is_utc(run.started_at)
    assert abs(datetime.now(UTC) - run.started_at) < timedelta(minutes=5)
    run2 = ms.get_run("run-2")
    assert run2 is not None
    assert (run2.parent_run_id, run2.params, run2.pipeline) == ("run-1", {}, None)

    # steps: insert, then partial updates keep the other fields
    ms.upsert_step("run-1", "raw.orders", kind="source", status="pending")
    ms.upsert_step("run-1", "stg_orders", kind="model", status="running", started_at=t0)
    ms.upsert_step(
        "run-1",
        "raw.orders",
        kind="source",
        status="running",
        started_at=t0 - timedelta(seconds=5),
        attempts=1,
        log_path="logs/run-1/raw.orders.log",
    )
    ms.upsert_step(
        "run-1",
        "raw.orders",
        kind="source",
        status="success",
        finished_at=t0 + timedelta(seconds=3),
        rows_in=3_000_000_000,
        rows_out=2_999_999_999,
    )
    ms.upsert_step("run-1", "check_orders", kind="check", status="pending")
    ms.upsert_step(
        "run-1",
        "stg_orders",
        kind="model",
        status="failed",
        finished_at=t0 + timedelta(seconds=9),
        error="Binder Error: column x not found",
    )
    steps = ms.step_runs("run-1")
    assert [s.step for s in steps] == ["raw.orders", "stg_orders", "check_orders"]
    raw, stg, check = steps
    assert raw.kind == "source"
    assert raw.status == "success"
    assert raw.started_at == t0 - timedelta(seconds=5)
    assert raw.finished_at == t0 + timedelta(seconds=3)
    assert (raw.attempts, raw.rows_in, raw.rows_out) == (1, 3_000_000_000, 2_999_999_999)
    assert raw.log_path == "logs/run-1/raw.orders.log"
    assert raw.error is None
    assert all(_is_utc(v) for v in (raw.started_at, raw.finished_at, stg.started_at))
    assert (stg.status, stg.error, stg.attempts) == (
        "failed",
        "Binder Error: column x not found",
        0,
    )
    assert (check.status, check.started_at, check.attempts) == ("pending", None, 0)
    assert ms.step_runs("run-2") == []
    assert ms.step_runs("nope") == []

    # attempts: a start record replaced by its end record, then a second attempt
    ms.record_attempt(
        "run-1", "stg_orders", 1, status="running", started_at=t0, finished_at=None, error=None
    )
    ms.record_attempt(
        "run-1",
        "stg_orders",
        1,
        status="failed",
        started_at=t0,
        finished_at=t0 + timedelta(seconds=4),
        error="boom",
    )
    ms.record_attempt(
        "run-1",
        "stg_orders",
        2,
        status="failed",
        started_at=t0 + timedelta(seconds=5),
        finished_at=t0 + timedelta(seconds=9),
        error="boom again",
    )
    ms.record_attempt(
        "run-1",
        "raw.orders",
        1,
        status="success",
        started_at=t0 - timedelta(seconds=5),
        finished_at=t0 + timedelta(seconds=3),
        error=None,
    )
    assert ms.attempts("run-1", "stg_orders") == [
        AttemptRecord("run-1", "stg_orders", 1, "failed", t0, t0 + timedelta(seconds=4), "boom"),
        AttemptRecord(
            "run-1",
            "stg_orders",
            2,
            "failed",
            t0 + timedelta(seconds=5),
            t0 + timedelta(seconds=9),
            "boom again",
        ),
    ]
    assert [(a.step, a.attempt) for a in ms.attempts("run-1")] == [
        ("raw.orders", 1),
        ("stg_orders", 1),
        ("stg_orders", 2),
    ]
    assert all(_is_utc(a.started_at) for a in ms.attempts("run-1"))
    assert ms.attempts("run-2") == []

    # finish, list, prefix
    ms.finish_run("run-1", "failed")
    ms.finish_run("run-2", "success")
    finished = ms.get_run("run-1")
    assert finished is not None
    assert finished.status == "failed"
    assert _is_utc(finished.finished_at)
    assert finished.finished_at is not None and finished.finished_at >= finished.started_at
    assert [r.run_id for r in ms.runs()] == ["run-2", "run-1"]
    assert [r.run_id for r in ms.runs(limit=1)] == ["run-2"]
    with pytest.raises(AmbiguousRunIdError):
        ms.get_run("run-")
    ms.start_run("20250301-abc", project="shop", selection=None)
    by_prefix = ms.get_run("2025")
    assert by_prefix is not None and by_prefix.run_id == "20250301-abc"
    assert ms.get_run("2025%") is None
    assert ms.get_run("RUN-1") is None

    # watermarks: insert, then replace
    ms.set_watermark("raw.orders", "2025-03-01T00:00:00", location="warehouse:x", run_id="run-1")
    ms.set_watermark("raw.customers", "42", location="warehouse:x", run_id="run-1")
    ms.set_watermark("raw.orders", "2025-03-02T00:00:00", location="warehouse:y", run_id="run-2")
    marks = ms.watermarks()
    assert [(w.asset, w.value, w.location, w.run_id) for w in marks] == [
        ("raw.customers", "42", "warehouse:x", "run-1"),
        ("raw.orders", "2025-03-02T00:00:00", "warehouse:y", "run-2"),
    ]
    assert all(_is_utc(w.updated_at) for w in marks)
