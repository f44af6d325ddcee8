"""`headwater trigger PIPELINE` and `POST /api/pipelines/{name}/trigger` with a live server:
the run is queued in the server's process (trigger "manual") and the command follows it."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from server_process import Server, cli, metastore

from headwater.testing.cli import write_project

TOML = '[pipelines.daily]\nselect = ["marts.a"]\nschedule = "0 6 * * *"\n'


def test_trigger_through_a_live_server_runs_in_its_process(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "proj",
        {
            "headwater.toml": TOML,
            "models/marts/a.sql": "select 1 as x\n",
            "models/b.sql": "select 2 as y\n",
        },
    )
    server = Server(root)
    try:
        done = cli(root, "trigger", "daily")
        with server.client() as http:
            posted = http.post("/api/pipelines/daily/trigger")
            unknown = http.post("/api/pipelines/nightly/trigger")
            run_id = posted.json()["run_id"]
            for _ in range(200):  # the queued run finishes in the server
                if http.get(f"/api/runs/{run_id}").json()["run"]["status"] == "success":
                    break
                time.sleep(0.05)
        pid = server.info["pid"]
    finally:
        assert server.stop(signal.SIGTERM) == 0
    assert done.returncode == 0, done.stderr
    assert "marts.a" in done.stdout and "success" in done.stdout
    assert posted.status_code == 202
    assert unknown.status_code == 400 and unknown.json()["exit_code"] == 2
    assert "no pipeline 'nightly'" in unknown.json()["error"]
    with metastore(root) as store:
        runs = [r for r in store.runs(10) if r.trigger != "schedule"]  # not its clock's
    assert len(runs) == 2
    assert {(r.trigger, r.pipeline, r.status, r.pid) for r in runs} == {
        ("manual", "daily", "success", pid)
    }
    with metastore(root) as store:
        assert {s.step for s in store.step_runs(run_id)} == {"marts.a"}  # the pipeline's steps only
