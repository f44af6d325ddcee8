"""Catch-up after downtime and ``max_active_runs`` on a real server, in real time.

Three pipelines ``every = "1s"`` over one 14-second schedule, one per ``catchup`` mode; the
server runs a few intervals, is stopped (SIGTERM) for about 5 s, then started again:

- ``catchup = "all"`` builds every interval, the missed ones too, no more than
  ``max_active_runs = 2`` of them queued or running at any instant;
- ``catchup = "latest"`` and ``"none"`` skip the intervals that ended while no server ran
  (``latest`` may run the one that ended last before the restart's first tick)."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from server_process import Server, metastore, wait_for

from headwater.metastore import IntervalRecord
from headwater.testing.cli import write_project

SPAN = 14  # intervals of one second
MODES = ("all", "latest", "none")


def _project(root: Path, start: datetime) -> Path:
    end = start + timedelta(seconds=SPAN)
    toml = "".join(
        f'[pipelines.{mode}]\nselect = ["marts.fast"]\nevery = "1s"\ncatchup = "{mode}"\n'
        f'start = "{start.isoformat()}"\nend = "{end.isoformat()}"\n'
        + ("max_active_runs = 2\n" if mode == "all" else "")
        for mode in MODES
    )
    return write_project(root, {"headwater.toml": toml, "models/marts/fast.sql": "select 1 as a\n"})


def _ledgers(root: Path) -> dict[str, list[IntervalRecord]]:
    with metastore(root) as store:
        return {mode: store.intervals(mode) for mode in MODES}


def _most_active(ledger: list[IntervalRecord]) -> int:
    """The most intervals queued or running at one instant (from enqueue to finish)."""
    events = sorted(
        [(i.queued_at, 1) for i in ledger] + [(i.finished_at or i.queued_at, -1) for i in ledger],
        key=lambda e: (e[0], e[1]),  # a finish before an enqueue at the same instant
    )
    most = now = 0
    for _, change in events:
        now += change
        most = max(most, now)
    return most


@pytest.mark.slow
def test_catchup_after_downtime_and_max_active_runs(tmp_path: Path) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    end = start + timedelta(seconds=SPAN)
    root = _project(tmp_path / "proj", start)
    server = Server(root)
    try:  # up until each pipeline has built its first two intervals
        wait_for(
            lambda: all(
                sum(i.status == "success" for i in led) >= 2 for led in _ledgers(root).values()
            ),
            timeout=30,
        )
        assert server.stop(signal.SIGTERM) == 0
        down = datetime.now(UTC)
        time.sleep(5)
        up = datetime.now(UTC)
        server = Server(root)
        done = lambda: all(  # noqa: E731
            led and led[-1].interval_end == end and {i.status for i in led} == {"success"}
            for led in _ledgers(root).values()
        )
        wait_for(done, timeout=60, every=0.2)
    finally:
        if server.proc.poll() is None:
            assert server.stop(signal.SIGTERM) == 0
    ledgers = _ledgers(root)
    every = [start + timedelta(seconds=k) for k in range(SPAN)]
    # the intervals that ended while no server ran (a second's margin either side)
    missed = [s for s in every if down + timedelta(seconds=1) < s + timedelta(seconds=1)
              and s + timedelta(seconds=1) < up - timedelta(seconds=1)]  # fmt: skip
    assert len(missed) >= 2, (down, up)
    assert [i.interval_start for i in ledgers["all"]] == every  # nothing lost
    assert _most_active(ledgers["all"]) == 2  # the limit, and reached while catching up
    for mode in ("latest", "none"):
        starts = {i.interval_start for i in ledgers[mode]}
        assert not starts & set(missed), (mode, sorted(starts), missed)
        assert every[-1] in starts and min(starts) < down  # ran before and after the downtime
