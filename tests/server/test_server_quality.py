"""``headwater check`` and ``headwater quarantine`` through a live server (the same output
and exit codes as in-process, while a slow run holds the warehouse), and a run cancelled
through the API recorded as cancelled, not as Ctrl-C."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_process import SLOW_SQL, Server, cli, metastore, wait_for

from headwater.testing.cli import write_project

# a file source whose bad rows go to quarantine (two quarantine checks), and a slow model
TOML = """
[sources.orders]
files = "drops/*.csv"
primary_key = ["id"]
write = "merge"

[[sources.orders.checks]]
type = "range"
column = "qty"
min = 1
on_fail = "quarantine"

[[sources.orders.checks]]
type = "accepted_values"
column = "status"
values = ["new", "paid"]
on_fail = "quarantine"

[[sources.orders.checks]]
type = "row_count"
min = 1
"""
# rows 2 and 4 fail range_qty, 3 and 4 accepted_values_status: 3 rows quarantined
DROP = "id,qty,status\n1,2,new\n2,-1,new\n3,5,lost\n4,0,weird\n5,3,paid\n"


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    """The project, its source loaded in-process (3 rows quarantined), no server yet."""
    root = write_project(
        tmp_path / "proj",
        {"headwater.toml": TOML, "drops/1.csv": DROP, "models/marts/slow.sql": SLOW_SQL},
    )
    ran = cli(root, "run", "-s", "raw.orders")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return root


@pytest.fixture
def up(loaded: Path) -> Iterator[Server]:
    srv = Server(loaded)
    yield srv
    if srv.proc.poll() is None:
        srv.stop(signal.SIGKILL)


def _start_slow_run(server: Server) -> str:
    with server.client() as http:
        answer = http.post("/api/runs", json={"select": ["marts.slow"]})
        assert answer.status_code == 202, answer.text
        run_id = str(answer.json()["run_id"])

        def running() -> bool:
            steps = http.get(f"/api/runs/{run_id}").json()["steps"]
            return any(s["step"] == "marts.slow" and s["status"] == "running" for s in steps)

        wait_for(running)
    return run_id


def _final(server: Server, run_id: str) -> str | None:
    with server.client() as http:
        status = http.get(f"/api/runs/{run_id}").json()["run"]["status"]
    return None if status in ("queued", "running") else str(status)


def _timed(root: Path, *args: str) -> tuple[Any, float]:
    began = time.monotonic()
    done = cli(root, *args)
    return done, time.monotonic() - began


def _results(check_json: str) -> list[dict[str, Any]]:
    """A check run's results without what differs between two runs (the timing)."""
    return [
        {k: v for k, v in r.items() if k != "duration"} for r in json.loads(check_json)["results"]
    ]


def test_check_and_quarantine_answer_while_a_slow_run_holds_the_warehouse(up: Server) -> None:
    slow = _start_slow_run(up)
    checked, took = _timed(up.root, "check", "-f", "json")
    assert checked.returncode == 0, checked.stderr
    assert took < 5
    served = json.loads(checked.stdout)
    assert served["ok"] is True and served["skipped"] == []
    # quarantine checks act on loads; a check run runs the others
    assert [(r["check"], r["asset"], r["status"]) for r in served["results"]] == [
        ("row_count", "raw.orders", "pass")
    ]
    listed, took = _timed(up.root, "quarantine", "-f", "json")
    assert listed.returncode == 0, listed.stderr
    assert took < 5
    groups = json.loads(listed.stdout)["quarantined"]
    assert sum(g["rows"] for g in groups) == 3
    assert {g["table"] for g in groups} == {"quarantine.orders"}
    rows, took = _timed(up.root, "quarantine", "orders", "--rows", "-f", "json")
    assert rows.returncode == 0, rows.stderr
    assert took < 5
    assert sorted(r["id"] for r in json.loads(rows.stdout)) == ["2", "3", "4"]
    with up.client() as http:  # the slow run was never disturbed: it still runs
        assert _final(up, slow) is None
        http.post(f"/api/runs/{slow}/cancel")
    wait_for(lambda: _final(up, slow))
    assert up.stop(signal.SIGTERM) == 0
    # the same documents as the commands print in-process (the warehouse is free again)
    alone = cli(up.root, "check", "-f", "json")
    assert alone.returncode == 0, alone.stderr
    assert _results(alone.stdout) == _results(checked.stdout)
    assert cli(up.root, "quarantine", "-f", "json").stdout == listed.stdout
    assert cli(up.root, "quarantine", "orders", "--rows", "-f", "json").stdout == rows.stdout


def test_a_blocking_check_through_the_server_exits_5_with_the_table(up: Server) -> None:
    toml = up.root / "headwater.toml"  # edited while the server runs: the edit counts
    toml.write_text(
        toml.read_text().replace('type = "row_count"\nmin = 1', 'type = "row_count"\nmin = 9')
    )
    checked = cli(up.root, "check")
    assert checked.returncode == 5, checked.stderr
    assert "│ row_count │ raw.orders │ fail" in checked.stdout
    assert "1 checks: 0 pass, 0 warn, 1 fail, 0 error (check run " in checked.stdout
    missing = cli(up.root, "quarantine", "release", "nothing_like_this")
    assert missing.returncode == 2 and "no source asset 'nothing_like_this'" in missing.stderr


def test_quarantine_release_and_discard_through_the_server(up: Server) -> None:
    # the fix: 'lost' and 'weird' become valid; row 4 (qty 0) still fails range_qty
    toml = up.root / "headwater.toml"
    toml.write_text(
        toml.read_text().replace(
            'values = ["new", "paid"]', 'values = ["new", "paid", "lost", "weird"]'
        )
    )
    released = cli(up.root, "quarantine", "release", "orders")
    assert released.returncode == 0, released.stderr
    assert "released 1 rows into raw.orders (1 written); 2 still fail" in released.stdout
    ids = cli(up.root, "query", "select id from raw.orders order by id", "-f", "csv")
    assert ids.stdout.split() == ["id", "1", "3", "5"]
    left = cli(up.root, "quarantine", "orders", "--rows", "-f", "json")
    assert sorted(r["id"] for r in json.loads(left.stdout)) == ["2", "4"]
    with up.client() as http:  # the release was a load of its own, recorded by the server
        loads = http.get("/api/loads", params={"asset": "raw.orders"}).json()
    assert len(loads) == 2
    discarded = cli(up.root, "quarantine", "discard", "orders", "--check", "range_qty")
    assert discarded.returncode == 0, discarded.stderr
    assert "discarded 2 quarantined rows of raw.orders" in discarded.stdout
    assert json.loads(cli(up.root, "quarantine", "-f", "json").stdout)["quarantined"] == []
    # state-changing calls are POSTs and need the token
    with up.client() as http:
        assert http.get("/api/quarantine/orders/release").status_code == 405
        url = up.info["url"] + "/api/quarantine/orders/discard"
        assert http.post(url, json={}, headers={"Authorization": "Bearer no"}).status_code == 401


def test_a_run_cancelled_through_the_api_is_recorded_cancelled(up: Server) -> None:
    run_id = _start_slow_run(up)
    with up.client() as http:
        assert http.post(f"/api/runs/{run_id}/cancel").json()["cancelled"] is True
    assert wait_for(lambda: _final(up, run_id)) == "interrupted"
    with metastore(up.root) as store:
        steps = store.step_runs(run_id)
    assert [(s.step, s.status, s.error) for s in steps] == [
        ("marts.slow", "failed", "cancelled (by request)")
    ]
    shown = cli(up.root, "show", run_id, "-f", "json")
    assert json.loads(shown.stdout)["steps"][0]["error"] == "cancelled (by request)"
    assert "Ctrl-C" not in shown.stdout
