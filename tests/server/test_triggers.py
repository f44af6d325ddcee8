"""Triggers besides the clock, run by a real ``headwater server`` on 127.0.0.1: files under
a glob, another pipeline's asset, a SQL condition on a connection."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

from server_process import SLOW_SQL, Server, cli, metastore, wait_for

from headwater.metastore.records import RunRecord
from headwater.testing.cli import invoke, write_project

MODEL = {"models/marts/a.sql": "select 1 as x\n"}


def _runs(root: Path, trigger: str) -> list[RunRecord]:
    """The runs recorded with ``trigger``, oldest first."""
    with metastore(root) as store:
        return sorted((r for r in store.runs(100) if r.trigger == trigger), key=lambda r: r.run_id)


def _done(root: Path, trigger: str, count: int) -> list[RunRecord]:
    """Wait until ``count`` runs with ``trigger`` have ended; return them."""
    ended = ("success", "failed", "interrupted", "abandoned")
    return wait_for(
        lambda: (
            (r := _runs(root, trigger))
            and len(r) >= count
            and all(x.status in ended for x in r)
            and r
        ),
        timeout=30,
    )


def _drop(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_dropped_file_runs_the_pipeline_once_across_restarts(tmp_path: Path) -> None:
    toml = (
        '[pipelines.ingest]\nselect = ["marts.a"]\n'
        'on_files = { glob = "landing/*.csv", settle_seconds = 0.2 }\n'
    )
    root = write_project(tmp_path / "proj", {"headwater.toml": toml, **MODEL})
    server = Server(root)
    try:
        time.sleep(2.5)  # the folder is empty: nothing runs
        assert _runs(root, "files") == []
        _drop(root / "landing" / "one.csv", "id\n1\n")
        first = _done(root, "files", 1)
        time.sleep(4.5)  # two more looks at the glob: the same file runs nothing more
    finally:
        assert server.stop() == 0
    assert [(r.pipeline, r.status) for r in _runs(root, "files")] == [("ingest", "success")]
    assert first[0].params["reason"] == "landing/one.csv"

    _drop(root / "landing" / "two.csv", "id\n2\n")  # while no server runs
    server = Server(root)
    try:
        runs = _done(root, "files", 2)
        time.sleep(4.5)
        listed = cli(root, "runs")
        _drop(root / "landing" / "three.csv", "id\n3\n")
        runs = _done(root, "files", 3)
        time.sleep(2.5)
    finally:
        assert server.stop() == 0
    runs = _runs(root, "files")
    assert [r.params["reason"] for r in runs] == [
        "landing/one.csv",  # not again after the restart
        "landing/two.csv",  # came while the server was down: not missed
        "landing/three.csv",
    ]
    assert all(r.status == "success" for r in runs)
    assert "files: landing/two.csv" in listed.stdout


def test_a_file_claimed_by_a_killed_server_runs_again_after_the_restart(tmp_path: Path) -> None:
    toml = (
        '[pipelines.ingest]\nselect = ["marts.slow"]\n'
        'on_files = { glob = "landing/*.csv", settle_seconds = 0.2 }\n'
    )
    root = write_project(
        tmp_path / "proj", {"headwater.toml": toml, "models/marts/slow.sql": SLOW_SQL}
    )
    _drop(root / "landing" / "one.csv", "id\n1\n")
    server = Server(root)
    wait_for(lambda: any(r.status == "running" for r in _runs(root, "files")))
    server.stop(signal.SIGKILL)  # mid-run: the run never ended, the file was not seen
    (root / "models" / "marts" / "slow.sql").write_text("select 1 as s\n")
    server = Server(root)
    try:
        wait_for(lambda: any(r.status == "success" for r in _runs(root, "files")), timeout=30)
        time.sleep(4.5)
    finally:
        assert server.stop() == 0
    assert sorted(r.status for r in _runs(root, "files")) == ["abandoned", "success"]


TWO_PIPELINES = """
[pipelines.upstream]
select = ["marts.orders_clean"]

[pipelines.report]
select = ["marts.report"]
on_assets = ["orders_clean"]
"""


def test_an_upstream_success_triggers_the_downstream_pipeline_once(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "proj",
        {
            "headwater.toml": TWO_PIPELINES,
            "models/marts/orders_clean.sql": "select 1 as id\n",
            "models/marts/report.sql": "select count(*) as n from marts.orders_clean\n",
        },
    )
    before = cli(root, "run", "--pipeline", "upstream")  # history: no trigger for it
    assert before.returncode == 0, before.stderr
    server = Server(root)
    try:
        time.sleep(3)
        assert _runs(root, "asset") == []
        with server.client() as http:
            upstream = http.post("/api/pipelines/upstream/trigger").json()["run_id"]
            report = _done(root, "asset", 1)
            time.sleep(5)  # more looks at the history: the same upstream run, no new run
            shown = http.get(f"/api/runs/{report[0].run_id}").json()["run"]
        show = cli(root, "show", report[0].run_id)  # through the server
    finally:
        assert server.stop() == 0
    runs = _runs(root, "asset")
    assert [(r.pipeline, r.status) for r in runs] == [("report", "success")]
    assert upstream in str(runs[0].params["reason"]) and "marts.orders_clean" in shown["reason"]
    assert shown["trigger"] == "asset"
    assert (
        f"trigger asset (marts.orders_clean by run {upstream} (pipeline upstream))" in show.stdout
    )
    with metastore(root) as store:
        assert {s.step for s in store.step_runs(runs[0].run_id)} == {"marts.report"}


CONDITION = """
[connections.shop]
url = "sqlite:///shop.sqlite"

[connections.secret]
url = "postgresql://app:${HW_TRIGGER_TEST_PW}@127.0.0.1:1/shop"

[pipelines.sync]
select = ["marts.a"]
on_condition = { connection = "shop", sql = "select max(updated_at) from orders", every = "5s" }

[pipelines.broken]
select = ["marts.a"]
on_condition = { connection = "secret", sql = "select 1", every = "5s" }
"""


def test_a_sql_condition_runs_the_pipeline_when_its_value_changes(tmp_path: Path) -> None:
    root = write_project(tmp_path / "proj", {"headwater.toml": CONDITION, **MODEL})
    with sqlite3.connect(root / "shop.sqlite") as db:
        db.execute("create table orders (id integer, updated_at text)")
        db.execute("insert into orders values (1, '2026-01-01')")
    os.environ["HW_TRIGGER_TEST_PW"] = "pw-Zq81-never-logged"
    try:
        server = Server(root)
    finally:
        del os.environ["HW_TRIGGER_TEST_PW"]
    try:
        first = _done(root, "condition", 1)  # the first value seen: one run
        time.sleep(6)  # polled again, unchanged: no run
        assert len(_runs(root, "condition")) == 1
        with sqlite3.connect(root / "shop.sqlite") as db:
            db.execute("insert into orders values (2, '2026-01-02')")
        runs = _done(root, "condition", 2)
        time.sleep(6)
    finally:
        assert server.stop() == 0
    _, stderr = server.proc.communicate(timeout=10)
    runs = _runs(root, "condition")
    assert [(r.pipeline, r.status) for r in runs] == [("sync", "success")] * 2
    assert first[0].params["reason"] == 'shop: first value "2026-01-01"'
    assert runs[1].params["reason"] == 'shop: "2026-01-01" -> "2026-01-02"'
    # the failing poll: one line a period naming the pipeline and connection, no secret,
    # no traceback, and the server kept serving
    failures = [line for line in stderr.splitlines() if "pipeline broken" in line]
    assert failures and all("connection 'secret'" in line for line in failures)
    assert "pw-Zq81-never-logged" not in stderr and "Traceback" not in stderr


def _project_error(tmp_path: Path, toml: str) -> tuple[str, int]:
    """The error of ``headwater graph`` (any command loading the project) for a project whose headwater.toml ends with ``toml``,
    and the line number of that file's last line."""
    root = write_project(tmp_path / "proj", {"headwater.toml": toml, **MODEL})
    last = len((root / "headwater.toml").read_text().rstrip("\n").splitlines())
    done = invoke("graph", "-p", str(root))  # any command loading the project
    assert done.exit_code == 2, done.output
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0], last


def test_trigger_settings_are_checked_when_the_project_loads(tmp_path: Path) -> None:
    head = (
        '[connections.shop]\nurl = "sqlite:///shop.sqlite"\n\n[pipelines.p]\nselect = ["marts.a"]\n'
    )
    cases = {
        'on_assets = ["orders_clen"]': "pipelines.p.on_assets: unknown asset 'orders_clen'",
        'on_files = "/tmp/*.csv"': "pipelines.p.on_files: glob '/tmp/*.csv' must be relative",
        'on_files = "../x/*.csv"': "pipelines.p.on_files: glob '../x/*.csv' must stay inside",
        'on_condition = { connection = "shpo", sql = "select 1" }': (
            "pipelines.p.on_condition.connection: unknown connection 'shpo' (have: shop)"
        ),
        'on_condition = { connection = "shop", sql = "select 1", every = "1s" }': (
            "pipelines.p.on_condition.every: '1s' is too often: at least 5s"
        ),
    }
    for n, (line, expected) in enumerate(cases.items()):
        error, last = _project_error(tmp_path / str(n), head + line + "\n")
        assert f"headwater.toml:{last}: {expected}" in error, error


def test_a_cycle_of_asset_triggers_stops_the_server_before_it_starts(tmp_path: Path) -> None:
    toml = (
        '[pipelines.left]\nselect = ["marts.x"]\non_assets = ["y"]\n\n'
        '[pipelines.right]\nselect = ["marts.y"]\non_assets = ["x"]\n\n'
        '[pipelines.self]\nselect = ["marts.y"]\non_assets = ["y"]\n'  # its own runs: skipped
    )
    files = {"models/marts/x.sql": "select 1 as a\n", "models/marts/y.sql": "select 2 as b\n"}
    root = write_project(tmp_path / "proj", {"headwater.toml": toml, **files})
    done = cli(root, "server", "--port", "0", timeout=30)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().endswith(
        "pipelines.left.on_assets: a cycle of asset triggers (left -> right -> left): "
        "each run would start the next, forever"
    ), done.stderr
    assert (
        len(done.stderr.strip().splitlines()) == 1
        and not (root / ".headwater/server.json").exists()
    )


def test_files_arriving_during_a_run_wait_as_one_pending_run(tmp_path: Path) -> None:
    toml = (
        '[pipelines.ingest]\nselect = ["marts.slow"]\n'
        'on_files = { glob = "landing/*.csv", settle_seconds = 0.2 }\n'
    )
    root = write_project(
        tmp_path / "proj", {"headwater.toml": toml, "models/marts/slow.sql": SLOW_SQL}
    )
    server = Server(root)
    try:
        _drop(root / "landing" / "one.csv", "id\n1\n")
        first = wait_for(lambda: [r for r in _runs(root, "files") if r.status == "running"])[0]
        _drop(root / "landing" / "two.csv", "id\n2\n")
        time.sleep(2.5)  # another look: two.csv waits
        _drop(root / "landing" / "three.csv", "id\n3\n")
        time.sleep(4.5)  # two more looks: three.csv joins it, still no second run
        assert [r.run_id for r in _runs(root, "files")] == [first.run_id]
        with server.client() as http:
            http.post(f"/api/runs/{first.run_id}/cancel").raise_for_status()
            second = wait_for(
                lambda: [
                    r
                    for r in _runs(root, "files")
                    if r.status == "running" and r.run_id != first.run_id
                ]
            )[0]
            http.post(f"/api/runs/{second.run_id}/cancel").raise_for_status()
        _done(root, "files", 2)
        time.sleep(4.5)  # cancelled by a user counts as seen: nothing runs again
    finally:
        assert server.stop() == 0
    runs = _runs(root, "files")
    assert [r.params["reason"] for r in runs] == [
        "landing/one.csv",
        "landing/three.csv, landing/two.csv",
    ]
