"""A pipeline scheduled every second, its server killed (SIGKILL) at random instants and
restarted: each interval is in the ledger once, and each is built by exactly one run."""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from server_process import Server, metastore, wait_for

from headwater.testing.cli import write_project

INTERVALS = 8


def _settled(root: Path) -> bool:
    with metastore(root) as store:
        found = store.intervals("tick")
    return len(found) == INTERVALS and all(i.status == "success" for i in found)


@pytest.mark.slow
def test_scheduled_intervals_run_exactly_once_across_kills(tmp_path: Path) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    end = start + timedelta(seconds=INTERVALS)
    root = write_project(
        tmp_path / "proj",
        {
            "headwater.toml": (
                "[pipelines.tick]\n"
                'select = ["marts.fast"]\n'
                'every = "1s"\n'
                'catchup = "all"\n'
                f'start = "{start.isoformat()}"\n'
                f'end = "{end.isoformat()}"\n'
            ),
            "models/marts/fast.sql": "select 1 as a\n",
        },
    )
    chance = random.Random()
    server = Server(root)
    try:
        for _ in range(3):  # killed at a random instant while intervals come due
            time.sleep(chance.uniform(0.2, 2.5))
            assert server.stop(signal.SIGKILL) == -signal.SIGKILL
            server = Server(root)  # the stale server.json does not stop it
        wait_for(lambda: _settled(root), timeout=40, every=0.2)
    finally:
        if server.proc.poll() is None:
            assert server.stop(signal.SIGTERM) == 0
    with metastore(root) as store:
        ledger = store.intervals("tick")
        runs = [r for r in store.runs(1000) if r.trigger == "schedule"]
    expected = [start + timedelta(seconds=i) for i in range(INTERVALS)]
    assert [i.interval_start for i in ledger] == expected  # each interval once, in order
    built = Counter(r.params.get("interval_start") for r in runs if r.status == "success")
    assert built == Counter({s.isoformat(): 1 for s in expected})  # each built exactly once
    # the other runs are the ones a SIGKILL cut short (abandoned), none still open
    assert {r.status for r in runs} <= {"success", "abandoned"}
    assert all(i.run_id in {r.run_id for r in runs if r.status == "success"} for i in ledger)
