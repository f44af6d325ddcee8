"""``headwater history prune`` on real runs: old runs and their log folders go, recent and
running ones stay; and a huge step error is stored cut while the step's log keeps it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from headwater.metastore import Metastore
from headwater.metastore import tables as t
from headwater.metastore.step_history import ERROR_MAX_BYTES
from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import invoke

FILES = {"headwater.toml": "", "models/s/base.sql": "select * from range(3) t(i)"}


def _age(store: Metastore, run_id: str, days: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            t.runs.update()
            .where(t.runs.c.run_id == run_id)
            .values(started_at=datetime.now(UTC) - timedelta(days=days))
        )


def test_prune_older_than_90d_keeps_recent_runs_and_deletes_old_ones_and_logs(
    project_dir,
) -> None:
    root = project_dir(FILES)
    project = load_project(root)
    ids = {days: run(project).run_id for days in (10, 100, 200)}
    logs = root / ".headwater/logs"
    with Metastore.open(project.metastore_url) as store:
        for days, run_id in ids.items():
            _age(store, run_id, days)
        store.start_run("still-running", project="test", selection=None)  # this process
        _age(store, "still-running", 300)
    assert all((logs / r).is_dir() for r in ids.values())

    shown = invoke("history", "prune", "--older-than", "90d", "-p", str(root))
    assert shown.exit_code == 0, shown.output
    assert "would delete 2 runs" in shown.stdout and "--yes" in shown.stdout
    assert (logs / ids[200]).is_dir()

    done = invoke("history", "prune", "--older-than", "90d", "--yes", "-p", str(root))
    assert done.exit_code == 0, done.output
    assert "deleted 2 runs" in done.stdout and "2 log folders" in done.stdout
    with Metastore.open(project.metastore_url) as store:
        left = {r.run_id for r in store.runs(10)}
    assert left == {ids[10], "still-running"}
    assert (logs / ids[10]).is_dir()
    assert not (logs / ids[100]).exists() and not (logs / ids[200]).exists()


def test_a_bad_duration_is_one_line_and_exit_1(project_dir) -> None:
    root = project_dir(FILES)
    result = invoke("history", "prune", "--older-than", "ninety", "-p", str(root))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --older-than: bad duration 'ninety'")
    assert len(result.stderr.splitlines()) == 1


# a model whose error quotes a 100 KB column name (DuckDB names the missing column)
HUGE = "select " + '"' + "c" * 100_000 + '"' + " from base"


def test_a_100kb_error_is_stored_under_2kb_while_the_step_log_keeps_it_whole(
    project_dir,
) -> None:
    root = project_dir({**FILES, "models/s/loud.sql": HUGE})
    project = load_project(root)
    result = run(project)
    assert result.steps["s.loud"].status == "failed"
    with Metastore.open(project.metastore_url) as store:
        [step] = [s for s in store.step_runs(result.run_id) if s.step == "s.loud"]
        with store.engine.connect() as conn:
            row = conn.execute(
                sa.select(
                    *(sa.func.length(sa.cast(c, sa.LargeBinary)) for c in t.step_runs.c)
                ).where(t.step_runs.c.run_id == result.run_id, t.step_runs.c.step == "s.loud")
            ).one()
    assert step.error is not None and len(step.error.encode()) <= ERROR_MAX_BYTES
    assert "models/s/loud.sql:1: s.loud: Binder Error" in step.error
    assert sum(v or 0 for v in row) < 2048  # the row's stored bytes, every column
    log = Path(step.log_path or "").read_text()
    assert "c" * 100_000 in log  # the whole error
