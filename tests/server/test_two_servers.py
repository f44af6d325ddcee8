"""Two ``headwater server`` processes on one PostgreSQL metastore (each with its own DuckDB
warehouse, as two machines would have): every queued run is run exactly once and both
servers take some; the leader killed with SIGKILL, the standby takes over the scheduling and
the dead server's run; a second server on the same DuckDB file is refused in one line."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from server_process import HEADWATER, Server, wait_for

from headwater.metastore import Metastore
from headwater.testing.cli import write_project
from headwater.testing.servers import PostgresServer

# a Python task that writes nothing in the warehouse: it appends (run id, server pid)
NOTE = """
import os, time
from headwater import task

@task
def note(ctx):
    with open(os.environ["HW_TEST_OUT"], "a") as out:
        out.write(f"start {ctx.run_id} {os.getpid()}\\n")
        out.flush()
        gate, began = os.environ.get("HW_TEST_GATE"), time.monotonic()
        while gate and not os.path.exists(gate) and time.monotonic() - began < 60:
            time.sleep(0.05)  # held until the test opens the gate
        out.write(f"done {ctx.run_id} {os.getpid()}\\n")
"""


@pytest.fixture
def metastore_url(postgres_server: PostgresServer) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    postgres_server.create_database(name)
    return postgres_server.url_for(name, scheme=postgres_server.sqlalchemy_scheme)


def _project(root: Path, metastore: str, extra: str = "") -> Path:
    """One copy of the project: same name, same metastore, its own folder and warehouse."""
    toml = (
        f'[project]\nname = "pair"\nmetastore = "{metastore}"\n'
        f'warehouse = "${{HW_WAREHOUSE:-.headwater/warehouse.duckdb}}"\n'
        f"heartbeat_timeout = 2\n\n{extra}"
    )
    return write_project(root, {"headwater.toml": toml, "python/note.py": NOTE})


def _lines(out: Path, kind: str) -> list[tuple[str, int]]:
    if not out.exists():
        return []
    rows = [line.split() for line in out.read_text().splitlines()]
    return [(run_id, int(pid)) for k, run_id, pid in rows if k == kind]


def test_two_servers_run_200_queued_runs_each_exactly_once(
    tmp_path: Path, metastore_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "notes.txt"
    monkeypatch.setenv("HW_TEST_OUT", str(out))
    a = Server(_project(tmp_path / "a", metastore_url))
    b = Server(_project(tmp_path / "b", metastore_url))
    try:
        with a.client() as client:  # every run asked of one server: the queue is shared
            asked = [client.post("/api/runs", json={}).json()["run_id"] for _ in range(200)]
        with Metastore.open(metastore_url) as ms:

            def all_over() -> bool:
                return all(r.status not in ("queued", "running") for r in ms.runs(300))

            wait_for(all_over, timeout=240, every=0.5)
            runs = ms.runs(300)
            claimed = Counter(ms.claimed_by(run_id) for run_id in asked)
        assert sorted(r.run_id for r in runs) == sorted(asked)
        assert {r.status for r in runs} == {"success"}
        done = _lines(out, "done")
        assert sorted(run_id for run_id, _ in done) == sorted(asked)  # each run once
        by_pid = Counter(pid for _, pid in done)
        assert set(by_pid) == {a.proc.pid, b.proc.pid}, by_pid  # both servers took some
        assert len(claimed) == 2 and None not in claimed

        # a third server on a's DuckDB file: refused in one line, no traceback
        monkeypatch.setenv("HW_WAREHOUSE", str(tmp_path / "a" / ".headwater" / "warehouse.duckdb"))
        c = _project(tmp_path / "c", metastore_url)
        third = subprocess.run(
            [HEADWATER, "server", "-p", str(c), "--port", "0"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert third.returncode == 4, third.stderr
        lines = third.stderr.strip().splitlines()
        assert len(lines) == 1, third.stderr
        assert "warehouse.duckdb" in lines[0] and "in use" in lines[0]
        assert f"PID {a.proc.pid}" in lines[0]
    finally:
        codes = [a.stop(), b.stop()]
    assert codes == [0, 0]
    with Metastore.open(metastore_url) as ms:
        assert ms.servers() == []  # both stopped cleanly: rows removed


def test_the_leader_killed_a_standby_takes_over_its_schedule_and_its_run(
    tmp_path: Path, metastore_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "notes.txt"
    monkeypatch.setenv("HW_TEST_OUT", str(out))
    gate = tmp_path / "gate"  # the runs wait for it: a's run is held until a is killed
    monkeypatch.setenv("HW_TEST_GATE", str(gate))
    schedule = '[pipelines.tick]\nselect = ["note"]\nevery = "2s"\n'
    a = Server(_project(tmp_path / "a", metastore_url, schedule))  # first: the leader
    b = None
    try:
        # the leader's scheduler queues the first interval; a, alone, runs it
        (first,) = wait_for(lambda: _lines(out, "start"), timeout=30)
        assert first[1] == a.proc.pid
        b = Server(_project(tmp_path / "b", metastore_url, schedule))
        assert not _lines(out, "done")  # a's run still going
        a.stop(signal.SIGKILL)
        killed_at = time.time()
        gate.touch()

        with Metastore.open(metastore_url) as ms:
            killed_run = ms.get_run(first[0])
            assert killed_run is not None and killed_run.status == "running"
            interval = next(r for r in ms.intervals("tick") if r.run_id == first[0])

            def rebuilt() -> bool:
                recs = {r.interval_start: r for r in ms.intervals("tick")}
                later = [r for r in recs.values() if r.interval_start > interval.interval_start]
                return recs[interval.interval_start].status == "success" and any(
                    r.status == "success" for r in later
                )

            wait_for(rebuilt, timeout=90, every=0.5)
            taken = ms.get_run(first[0])
            ledger = ms.intervals("tick")
            steps = ms.step_runs(first[0])
        # taken over within the timeout (2 s) and a beat or two
        assert taken is not None and taken.status == "interrupted"
        assert taken.finished_at is not None
        assert taken.finished_at.timestamp() - killed_at < 2 + 3
        assert "stopped sending heartbeats" in (steps[0].error or "")
        # the dead server's interval built again, once, by the standby turned leader
        again = next(r for r in ledger if r.interval_start == interval.interval_start)
        assert again.run_id != first[0] and again.attempts == 2
        done = dict(_lines(out, "done"))
        assert first[0] not in done
        assert done[str(again.run_id)] == b.proc.pid
        # every built interval was built by exactly one run that finished
        built = [r.run_id for r in ledger if r.status == "success"]
        assert Counter(built) == Counter(run_id for run_id in done if run_id in built)
        assert all(pid == b.proc.pid for run_id, pid in done.items())
    finally:
        if a.proc.poll() is None:
            a.stop(signal.SIGKILL)
        if b is not None:
            assert b.stop() == 0
    with Metastore.open(metastore_url) as ms:
        assert ms.servers() == []  # the dead one taken over, the live one stopped
        assert not [r for r in ms.runs(100) if r.status == "running"]


def test_a_queued_run_is_cancelled_through_any_server_a_running_one_where_it_runs(
    tmp_path: Path, metastore_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, gate = tmp_path / "notes.txt", tmp_path / "gate"
    monkeypatch.setenv("HW_TEST_OUT", str(out))
    monkeypatch.setenv("HW_TEST_GATE", str(gate))  # runs are held until the gate opens
    a = Server(_project(tmp_path / "a", metastore_url))
    b = Server(_project(tmp_path / "b", metastore_url))
    servers = {a.proc.pid: a, b.proc.pid: b}
    try:
        with a.client() as client:
            held = [client.post("/api/runs", json={}).json()["run_id"] for _ in range(2)]
            started = wait_for(
                lambda: dict(_lines(out, "start")) if len(_lines(out, "start")) == 2 else None
            )
            assert set(started) == set(held) and set(started.values()) == set(servers)
            waiting = client.post("/api/runs", json={}).json()["run_id"]  # both are busy
        with b.client() as client:  # asked of a, cancelled through b
            assert client.post(f"/api/runs/{waiting}/cancel").status_code == 200
        # a running run: refused by the server that does not run it, stopped by the other
        runner = servers[started[held[0]]]
        other = a if runner is b else b
        with other.client() as client:
            assert client.post(f"/api/runs/{held[0]}/cancel").status_code == 409
        with runner.client() as client:
            assert client.post(f"/api/runs/{held[0]}/cancel").status_code == 200
        gate.touch()  # a Python task is not interrupted: the run stops once it returns
        with Metastore.open(metastore_url) as ms:
            wait_for(lambda: ms.get_run(held[0]).status not in ("queued", "running"), 60)  # type: ignore[union-attr]
            assert ms.get_run(held[0]).status == "interrupted", ms.get_run(held[0])  # type: ignore[union-attr]
            wait_for(lambda: ms.get_run(held[1]).status == "success", 60)  # type: ignore[union-attr]
            assert ms.get_run(waiting).status == "interrupted"  # type: ignore[union-attr]
        assert waiting not in dict(_lines(out, "start"))  # never ran
    finally:
        gate.touch()
        codes = [a.stop(), b.stop()]
    assert codes == [0, 0]
