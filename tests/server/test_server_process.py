"""``headwater server`` as a user meets it: its file, its token, one server per project,
the CLI going through it while a run holds the warehouse, and a graceful stop."""

from __future__ import annotations

import json
import signal
import stat
import time
from pathlib import Path

import httpx
from server_process import Server, cli, metastore, wait_for


def _running_step(server: Server, run_id: str, step: str) -> bool:
    with server.client() as http:
        detail = http.get(f"/api/runs/{run_id}").json()
    return any(s["step"] == step and s["status"] == "running" for s in detail["steps"])


def _start_slow_run(server: Server) -> str:
    with server.client() as http:
        answer = http.post("/api/runs", json={"select": ["marts.slow"]})
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run_id"]
    wait_for(lambda: _running_step(server, run_id, "marts.slow"))
    return str(run_id)


def test_server_json_is_private_and_its_token_is_required(server: Server) -> None:
    mode = stat.S_IMODE(server.json_path.stat().st_mode)
    assert mode == 0o600
    info = json.loads(server.json_path.read_text())
    assert info["pid"] == server.proc.pid and info["url"].startswith("http://127.0.0.1:")
    assert httpx.get(info["url"] + "/api/health").json()["status"] == "ok"  # open
    assert httpx.get(info["url"] + "/api/runs").status_code == 401
    wrong = {"Authorization": "Bearer " + "x" * len(info["token"])}
    assert httpx.get(info["url"] + "/api/runs", headers=wrong).status_code == 401
    assert httpx.get(info["url"] + "/openapi.json").status_code == 401
    with server.client() as http:
        assert http.get("/api/runs").status_code == 200
        assert "/api/runs/{run_id}/cancel" in http.get("/openapi.json").json()["paths"]
        missing = http.get("/api/runs/nope")
    assert missing.status_code == 404
    assert missing.json() == {"error": "no run 'nope' (see `headwater runs`)", "exit_code": 1}


def test_a_second_server_of_the_project_refuses_to_start(server: Server) -> None:
    second = cli(server.root, "server", "--port", "0", timeout=30)
    assert second.returncode == 2
    line = second.stderr.strip()
    assert "\n" not in line
    assert f"PID {server.proc.pid}" in line and server.info["url"] in line


def test_query_and_runs_answer_while_a_slow_run_holds_the_warehouse(server: Server) -> None:
    run_id = _start_slow_run(server)
    began = time.monotonic()
    answered = cli(server.root, "query", "select 40 + 2 as answer", "-f", "csv")
    took = time.monotonic() - began
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout.splitlines() == ["answer", "42"]
    assert took < 5
    began = time.monotonic()
    listed = cli(server.root, "runs", "-f", "json")
    took = time.monotonic() - began
    assert listed.returncode == 0, listed.stderr
    assert {"run_id": run_id, "status": "running"}.items() <= json.loads(listed.stdout)[0].items()
    assert took < 5
    with server.client() as http:  # a cancel stops it as Ctrl-C would
        assert http.post(f"/api/runs/{run_id}/cancel").json()["cancelled"] is True
        status = wait_for(lambda: _final(http, run_id))
    assert status == "interrupted"


def _final(http: httpx.Client, run_id: str) -> str | None:
    status = http.get(f"/api/runs/{run_id}").json()["run"]["status"]
    return None if status in ("queued", "running") else str(status)


def test_headwater_run_enqueues_on_the_server_and_prints_the_summary(server: Server) -> None:
    ran = cli(server.root, "run", "-s", "marts.fast")
    assert ran.returncode == 0, ran.stderr
    assert "marts.fast success" in ran.stdout
    summary = [line for line in ran.stdout.splitlines() if line.startswith("run ")]
    assert len(summary) == 1 and " success in " in summary[0] and "1 success" in summary[0]
    run_id = summary[0].split()[1]
    with server.client() as http:
        listed = [r["run_id"] for r in http.get("/api/runs").json()]
    assert run_id in listed
    with metastore(server.root) as store:
        record = store.get_run(run_id)
    assert record is not None and record.pid == server.proc.pid and record.trigger == "server"
    failed = cli(server.root, "run", "-s", "nothing_like_this")  # refused before queueing
    assert failed.returncode == 2 and "nothing_like_this" in failed.stderr


def test_sigterm_stops_the_server_and_records_the_run_interrupted(server: Server) -> None:
    run_id = _start_slow_run(server)
    began = time.monotonic()
    assert server.stop(signal.SIGTERM) == 0
    assert time.monotonic() - began < 15
    assert not server.json_path.exists()
    with metastore(server.root) as store:
        record = store.get_run(run_id)
        steps = store.step_runs(run_id)
    assert record is not None and record.status == "interrupted"
    assert [(s.step, s.status) for s in steps] == [("marts.slow", "failed")]
    assert "SIGTERM" in (steps[0].error or "")
    # the warehouse is free again: the CLI works in-process
    assert cli(Path(server.root), "query", "select 1").returncode == 0


def test_queued_runs_survive_a_kill_and_a_cancelled_one_stays_cancelled(server: Server) -> None:
    slow = _start_slow_run(server)
    with server.client() as http:
        waiting = [
            http.post("/api/runs", json={"select": ["marts.fast"]}).json()["run_id"]
            for _ in range(2)
        ]
        assert http.get(f"/api/runs/{waiting[0]}").json()["run"]["status"] == "queued"
        assert http.post(f"/api/runs/{waiting[1]}/cancel").json()["cancelled"] is True
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    restarted = Server(server.root)
    try:
        with restarted.client() as http:
            assert wait_for(lambda: _final(http, waiting[0])) == "success"
            assert _final(http, slow) == "abandoned"  # killed with its server
            assert _final(http, waiting[1]) == "interrupted"  # cancelled: never run
    finally:
        assert restarted.stop(signal.SIGTERM) == 0
