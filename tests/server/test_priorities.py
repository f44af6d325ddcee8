"""Priorities between pipelines: a busy server's run queue starts the queued run of the
highest ``priority`` first, in the order asked within one priority (a real server process)."""

from __future__ import annotations

import signal
from pathlib import Path

from server_process import SLOW_SQL, Server, metastore, wait_for

from headwater.testing.cli import write_project

TOML = """
[pipelines.busy]
select = ["marts.slow"]

[pipelines.low]
select = ["marts.a"]

[pipelines.high]
select = ["marts.b"]
priority = 10
"""


def test_a_queued_high_priority_run_starts_before_earlier_low_priority_ones(
    tmp_path: Path,
) -> None:
    root = write_project(
        tmp_path / "proj",
        {
            "headwater.toml": TOML,
            "models/marts/slow.sql": SLOW_SQL,
            "models/marts/a.sql": "select 1 as x\n",
            "models/marts/b.sql": "select 2 as y\n",
        },
    )
    server = Server(root)
    try:
        with server.client() as http:

            def ask(pipeline: str | None, select: tuple[str, ...] = ()) -> str:
                body = {"pipeline": pipeline, "select": list(select)}
                answer = http.post("/api/runs", json=body)
                assert answer.status_code == 202, answer.text
                return str(answer.json()["run_id"])

            def running(run_id: str) -> bool:
                return bool(http.get(f"/api/runs/{run_id}").json()["run"]["status"] == "running")

            busy = ask("busy")
            wait_for(lambda: running(busy))  # the worker is taken: the others wait
            low = [ask("low"), ask("low")]
            # a run of no pipeline: priority 0, after the earlier lows
            manual = ask(None, ("marts.a",))
            high = ask("high")  # asked last
            http.post(f"/api/runs/{busy}/cancel")

            def over() -> bool:
                runs = [http.get(f"/api/runs/{r}").json()["run"] for r in [*low, manual, high]]
                return all(r["status"] == "success" for r in runs)

            wait_for(over, timeout=60)
    finally:
        assert server.stop(signal.SIGTERM) == 0
    with metastore(root) as store:
        started = {r: store.get_run(r).started_at for r in [*low, manual, high]}  # type: ignore[union-attr]
    order = sorted(started, key=lambda r: started[r])
    assert order == [high, *low, manual]  # high first, then FIFO within priority 0
