"""SIGINT (Ctrl-C in the server's terminal) stops a server as SIGTERM does: no new run
starts, the running one is recorded interrupted (its step failed, naming the cause), queued
runs are recorded interrupted, server.json goes, exit 0 (the SIGTERM case is in
test_server_process.py)."""

from __future__ import annotations

import signal
import time

from server_process import Server, metastore, wait_for


def _running(server: Server, run_id: str) -> bool:
    with server.client() as http:
        steps = http.get(f"/api/runs/{run_id}").json()["steps"]
    return any(s["status"] == "running" for s in steps)


def test_sigint_stops_the_server_like_sigterm(server: Server) -> None:
    with server.client() as http:
        slow = http.post("/api/runs", json={"select": ["marts.slow"]}).json()["run_id"]
        wait_for(lambda: _running(server, slow))
        waiting = http.post("/api/runs", json={"select": ["marts.fast"]}).json()["run_id"]
    began = time.monotonic()
    assert server.stop(signal.SIGINT) == 0
    assert time.monotonic() - began < 15
    assert not server.json_path.exists()
    with metastore(server.root) as store:
        stopped, queued = store.get_run(slow), store.get_run(waiting)
        steps = store.step_runs(slow)
    assert stopped is not None and stopped.status == "interrupted"
    assert [(s.step, s.status) for s in steps] == [("marts.slow", "failed")]
    assert steps[0].error == "interrupted (Ctrl-C)"
    assert queued is not None and queued.status == "interrupted"  # never started
