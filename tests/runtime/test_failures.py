"""Failure isolation, retries with backoff, and timeouts on small graphs."""

from __future__ import annotations

import time

from headwater.metastore import Metastore
from headwater.project import load_project
from headwater.runtime import retry_run, run
from headwater.testing.cli import invoke

FLAKY = """
from pathlib import Path
from headwater import model

COUNTER = Path(__file__).parent / "attempts.txt"

@model(materialized="table", retries={retries}, retry_delay=0.05)
def flaky(base):
    n = int(COUNTER.read_text()) + 1 if COUNTER.exists() else 1
    COUNTER.write_text(str(n))
    if n <= {fail_times}:
        raise RuntimeError(f"transient failure {{n}}")
    return base.aggregate("count(*) as n")
"""


def graph_files(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "headwater.toml": "",
        "models/s/base.sql": "select * from range(10) t(i)",
        "models/s/bad.sql": "select i / 0 as x, nosuchcolumn from base",
        "models/s/after_bad.sql": "select * from bad",
        "models/s/after_after.sql": "select * from after_bad",
        "models/s/good.sql": "-- headwater:\n--   materialized: table\nselect sum(i) as total from base",
        "models/s/after_good.sql": "select total * 2 as twice from good",
        **(extra or {}),
    }


def test_failure_marks_downstream_and_spares_other_branches(project_dir):
    project = load_project(project_dir(graph_files()))
    result = run(project, threads=2)
    status = {name: st.status for name, st in result.steps.items()}
    assert status == {
        "s.base": "success",
        "s.bad": "failed",
        "s.after_bad": "upstream_failed",
        "s.after_after": "upstream_failed",
        "s.good": "success",
        "s.after_good": "success",
    }
    assert result.status == "failed"
    assert "nosuchcolumn" in (result.steps["s.bad"].error or "")
    assert "models/s/bad.sql" in (result.steps["s.bad"].error or "")
    store = Metastore.open(project.metastore_url)
    recorded = {s.step: s.status for s in store.step_runs(result.run_id)}
    assert recorded == status
    assert store.get_run(result.run_id).status == "failed"
    store.close()


def test_retry_reruns_only_what_did_not_succeed(project_dir):
    root = project_dir(graph_files())
    project = load_project(root)
    first = run(project)
    (root / "models/s/bad.sql").write_text("select i as x from base")
    project = load_project(root)
    second = retry_run(project, first.run_id)
    assert second is not None
    assert set(second.steps) == {"s.bad", "s.after_bad", "s.after_after"}
    assert second.status == "success"
    store = Metastore.open(project.metastore_url)
    assert store.get_run(second.run_id).parent_run_id == first.run_id
    runs = len(store.runs())
    store.close()
    # a run whose every step succeeded has nothing to retry: no new run
    assert retry_run(project, second.run_id) is None
    cli = invoke("retry", second.run_id, "-p", str(root))
    assert cli.exit_code == 0 and "nothing to retry" in cli.stdout
    with Metastore.open(project.metastore_url) as store:
        assert len(store.runs()) == runs


def test_retries_recover_a_transient_failure(project_dir):
    root = project_dir(graph_files({"python/flaky.py": FLAKY.format(retries=2, fail_times=2)}))
    project = load_project(root)
    result = run(project, include=["+flaky"])
    assert result.steps["marts.flaky"].status == "success"
    assert result.steps["marts.flaky"].attempts == 3
    store = Metastore.open(project.metastore_url)
    attempts = store.attempts(result.run_id, "marts.flaky")
    assert [a.status for a in attempts] == ["failed", "failed", "success"]
    assert "transient failure 1" in (attempts[0].error or "")
    # exponential backoff: the second wait (0.1 s) is about twice the first (0.05 s)
    gap1 = (attempts[1].started_at - attempts[0].finished_at).total_seconds()
    gap2 = (attempts[2].started_at - attempts[1].finished_at).total_seconds()
    assert gap1 >= 0.04 and gap2 >= 0.09
    store.close()


def test_retries_exhausted_fail_the_step(project_dir):
    root = project_dir(graph_files({"python/flaky.py": FLAKY.format(retries=1, fail_times=5)}))
    result = run(load_project(root), include=["+flaky"])
    assert result.steps["marts.flaky"].status == "failed"
    assert result.steps["marts.flaky"].attempts == 2
    assert "transient failure 2" in (result.steps["marts.flaky"].error or "")


def test_sql_timeout_interrupts_the_query(project_dir):
    root = project_dir(
        graph_files(
            {
                "models/s/slow.sql": "-- headwater:\n--   materialized: table\n--   timeout: 0.5\n"
                "select count(*) as n from range(100000000000) a",
            }
        )
    )
    started = time.monotonic()
    result = run(load_project(root), include=["+slow", "+good"], threads=2)
    assert time.monotonic() - started < 30
    assert result.steps["s.slow"].status == "timed_out"
    assert "timed out after 0.5 s" in (result.steps["s.slow"].error or "")
    assert result.steps["s.good"].status == "success"


def test_cli_exit_code_and_summary_on_failure(project_dir):
    root = project_dir(graph_files())
    result = invoke("run", "-p", str(root))
    assert result.exit_code == 5
    assert "2 upstream_failed" in result.stdout and "3 success" in result.stdout
    shown = invoke("show", result.stdout.split("run ")[-1].split()[0], "-p", str(root))
    assert shown.exit_code == 0 and "upstream_failed" in shown.stdout


def test_step_logs_on_disk(project_dir):
    """A step that logs gets logs/<run>/<step>.log (its retries append to it), recorded as the
    step's log_path; a SQL model that builds cleanly writes no file; run.log has every event."""
    flaky = FLAKY.format(retries=1, fail_times=1)
    project = load_project(project_dir(graph_files({"python/flaky.py": flaky})))
    result = run(project, threads=2)
    logs = project.logs_dir / result.run_id
    flaky_log = (logs / "marts.flaky.log").read_text()
    assert flaky_log.count("calling flaky(base)") == 2  # both attempts, one file
    assert "transient failure 1" in flaky_log
    bad_log = (logs / "s.bad.log").read_text()
    assert "ERROR" in bad_log and "nosuchcolumn" in bad_log
    assert not (logs / "s.good.log").exists()
    with Metastore.open(project.metastore_url) as store:
        paths = {s.step: s.log_path for s in store.step_runs(result.run_id)}
    assert paths["marts.flaky"] == str(logs / "marts.flaky.log")
    assert paths["s.bad"] == str(logs / "s.bad.log")
    assert paths["s.good"] is None
    # run.log: every step's events, quiet ones included
    run_log = (logs / "run.log").read_text().splitlines()
    for step in result.steps:
        assert any(f" {step} " in line for line in run_log), step
    assert any(" s.good success in " in line for line in run_log)
    assert any(" s.bad failed in " in line and "nosuchcolumn" in line for line in run_log)
    assert any(" s.after_bad upstream_failed: upstream s.bad failed" in line for line in run_log)
    assert any(
        " marts.flaky attempt 1 of 2 failed" in line and "retrying" in line for line in run_log
    )


LAZY = """
from headwater import model

@model(materialized="table")
def lazy_bad(base):
    return base.project("cast('x' || i as integer) as n")  # fails only when it runs
"""


def test_a_python_models_query_that_fails_names_the_model_file(project_dir):
    """A Python model returns a lazy relation: its query runs, and fails, while the table is
    written. The error is one line naming the model's file and asset, like a SQL model's."""
    project = load_project(project_dir(graph_files({"python/lazy.py": LAZY})))
    result = run(project, threads=2)
    error = result.steps["marts.lazy_bad"].error or ""
    assert result.steps["marts.lazy_bad"].status == "failed"
    assert "python/lazy.py:4: marts.lazy_bad: Conversion Error" in error
    assert "Traceback" not in error and len(error.splitlines()) == 1
