"""``headwater run`` with a server up while another run holds the warehouse: the CLI's run
is queued on the server and waits its turn (it never fails on the DuckDB file's lock), then
runs in the server's process and prints the same summary and exit code as in-process."""

from __future__ import annotations

import os
import subprocess
import time

from server_process import HEADWATER, Server, metastore, wait_for


def _runs(server: Server) -> list[dict[str, object]]:
    with server.client() as http:
        return list(http.get("/api/runs").json())


def test_headwater_run_waits_in_the_queue_behind_a_running_run(server: Server) -> None:
    with server.client() as http:
        slow = http.post("/api/runs", json={"select": ["marts.slow"]}).json()["run_id"]
    wait_for(lambda: any(r["run_id"] == slow and r["status"] == "running" for r in _runs(server)))
    cli = subprocess.Popen(
        [HEADWATER, "run", "-s", "marts.fast", "-p", str(server.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        queued = wait_for(
            lambda: [r for r in _runs(server) if r["run_id"] != slow and r["status"] == "queued"]
        )
        time.sleep(1.0)  # the CLI follows the queued run: it neither fails nor runs it itself
        assert cli.poll() is None
        assert [r["status"] for r in _runs(server) if r["run_id"] == slow] == ["running"]
        with server.client() as http:
            assert http.post(f"/api/runs/{slow}/cancel").json()["cancelled"] is True
        out, err = cli.communicate(timeout=60)
    finally:
        cli.kill()
    assert cli.returncode == 0, err
    assert "marts.fast success" in out and "Traceback" not in err
    with metastore(server.root) as store:
        record = store.get_run(str(queued[0]["run_id"]))
        first = store.get_run(slow)
    assert record is not None and record.status == "success"
    assert record.pid == server.proc.pid  # run by the server, not by the CLI's process
    assert first is not None and first.status == "interrupted"
    assert first.finished_at is not None and first.finished_at <= record.started_at
