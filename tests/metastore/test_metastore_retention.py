"""History retention in the metastore: what a prune deletes, in one transaction, and what
it never touches; and the bound on a step-run row's error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from headwater.metastore import Metastore
from headwater.metastore import tables as t
from headwater.metastore.step_history import ERROR_MAX_BYTES

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _run(store: Metastore, run_id: str, age_days: int, status: str = "success") -> None:
    store.start_run(run_id, project="p", selection=None)
    store.upsert_step(run_id, "raw.a", kind="source", status="success", error="e")
    store.record_attempt(
        run_id, "raw.a", 1, status="success", started_at=NOW, finished_at=NOW, error=None
    )
    store.record_check_results([_check_row(run_id)])
    if status != "running":
        store.finish_run(run_id, status)
    with store.engine.begin() as conn:  # the run's age, set explicitly
        conn.execute(
            t.runs.update()
            .where(t.runs.c.run_id == run_id)
            .values(started_at=NOW - timedelta(days=age_days))
        )


def _check_row(run_id: str) -> dict[str, object]:
    return {
        "run_id": run_id,
        "asset": "raw.a",
        "check_name": "not_null_id",
        "step": "raw.a",
        "check_type": "not_null",
        "severity": "error",
        "status": "pass",
        "failing": 0,
        "total": 1,
        "quarantined": 0,
        "message": "ok",
        "sample": None,
        "duration_ms": 1,
        "at": NOW,
    }


def _count(store: Metastore, table: sa.Table, run_id: str) -> int:
    with store.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(table).where(table.c.run_id == run_id)
        return int(conn.execute(query).scalar() or 0)


def test_prune_deletes_old_runs_with_their_rows_and_keeps_recent_and_running(
    store: Metastore,
) -> None:
    _run(store, "r10", 10)
    _run(store, "r100", 100, "failed")
    _run(store, "r200", 200)
    _run(store, "running200", 200, "running")  # this process: alive, never pruned
    dry = store.prune_history(NOW - timedelta(days=90), dry=True)
    assert dry.runs == ["r100", "r200"]
    assert store.get_run("r200") is not None  # a dry prune deletes nothing
    pruned = store.prune_history(NOW - timedelta(days=90))
    assert pruned.runs == ["r100", "r200"]
    for gone in ("r100", "r200"):
        assert store.get_run(gone) is None
        for table in (t.step_runs, t.attempts, t.check_results):
            assert _count(store, table, gone) == 0
    for kept in ("r10", "running200"):
        assert store.get_run(kept) is not None
        for table in (t.step_runs, t.attempts, t.check_results):
            assert _count(store, table, kept) == 1


def test_prune_deletes_finished_intervals_but_each_pipelines_newest_and_kept_ones(
    store: Metastore,
) -> None:
    days = [NOW - timedelta(days=d) for d in (300, 200, 100)]
    for pipeline in ("daily", "all_catchup"):
        store.enqueue_intervals(pipeline, [(d, d + timedelta(days=1)) for d in days])
        for d in days:
            assert store.claim_interval(pipeline, d, f"run-{pipeline}-{d:%j}")
            assert store.finish_interval(pipeline, d, "success")
    store.enqueue_intervals("daily", [(NOW - timedelta(days=400), NOW - timedelta(days=399))])
    with store.engine.begin() as conn:  # finished long ago
        conn.execute(t.intervals.update().values(finished_at=NOW - timedelta(days=99)))
    pruned = store.prune_history(NOW - timedelta(days=90), keep_intervals_of=("all_catchup",))
    assert pruned.intervals == 2
    left = {(r.interval_start, r.status) for r in store.intervals("daily")}
    # the queued one stays (not finished), and the newest (the scheduler's "latest")
    assert left == {(NOW - timedelta(days=400), "queued"), (days[-1], "success")}
    assert len(store.intervals("all_catchup")) == 3


def test_a_long_error_is_cut_in_step_runs_and_attempts(store: Metastore) -> None:
    store.start_run("r", project="p", selection=None)
    huge = "é" + "x" * 100_000
    store.replace_steps(
        [
            {
                "run_id": "r",
                "step": "raw.a",
                "kind": "source",
                "status": "failed",
                "started_at": NOW,
                "finished_at": NOW,
                "attempts": 1,
                "rows_in": None,
                "rows_out": None,
                "error": huge,
                "log_path": None,
            }
        ],
        [
            {
                "run_id": "r",
                "step": "raw.a",
                "attempt": 1,
                "status": "failed",
                "error": huge,
                "started_at": NOW,
                "finished_at": NOW,
            }
        ],
    )
    [step] = store.step_runs("r")
    [attempt] = store.attempts("r")
    for error in (step.error, attempt.error):
        assert error is not None and error.startswith("éxxx")
        assert len(error.encode()) <= ERROR_MAX_BYTES
        assert error.endswith("the whole error is in the step's log]")
