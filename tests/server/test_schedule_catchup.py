"""Catch-up after downtime and ``max_active_runs`` on a real server, in real time.

Three pipelines ``every = "1s"`` from one start, one per ``catchup`` mode; the server builds
a few intervals, is stopped (SIGTERM) for about 5 s, then started again:

- ``catchup = "all"`` builds every interval, the missed ones too, no more than
  ``max_active_runs = 2`` of them queued or running at any instant;
- ``catchup = "latest"`` and ``"none"`` skip the intervals that ended while no server ran
  (``latest`` may run the one that ended last before the restart's first tick).

Everything is relative to when the server really stopped and started (a loaded machine
runs each run slowly), so the schedule has no end."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from server_process import Server, metastore, wait_for

from headwater.metastore import IntervalRecord
from headwater.testing.cli import write_project

MODES = ("all", "latest", "none")


def _project(root: Path, start: datetime) -> Path:
    toml = "".join(
        f'[pipelines.{mode}]\nselect = ["marts.fast"]\nevery = "1s"\ncatchup = "{mode}"\n'
        f'start = "{start.isoformat()}"\n' + ("max_active_runs = 2\n" if mode == "all" else "")
        for mode in MODES
    )
    return write_project(root, {"headwater.toml": toml, "models/marts/fast.sql": "select 1 as a\n"})


def _ledgers(root: Path) -> dict[str, list[IntervalRecord]]:
    with metastore(root) as store:
        return {mode: store.intervals(mode) for mode in MODES}


def _most_active(ledger: list[IntervalRecord], stopped: datetime) -> int:
    """The most intervals queued or running at one instant (from enqueue to finish; one
    left queued by the last stop counts until then)."""
    events = sorted(
        [(i.queued_at, 1) for i in ledger] + [(i.finished_at or stopped, -1) for i in ledger],
        key=lambda e: (e[0], e[1]),  # a finish before an enqueue at the same instant
    )
    most = now = 0
    for _, change in events:
        now += change
        most = max(most, now)
    return most


def _built_since(root: Path, since: datetime) -> bool:
    """Each pipeline built an interval that began after ``since``, and ``all`` every one
    before it."""
    ledgers = _ledgers(root)
    done = [i for i in ledgers["all"] if i.interval_start < since]
    return all(i.status == "success" for i in done) and all(
        any(i.status == "success" and i.interval_start >= since for i in led)
        for led in ledgers.values()
    )


@pytest.mark.slow
def test_catchup_after_downtime_and_max_active_runs(tmp_path: Path) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    root = _project(tmp_path / "proj", start)
    server = Server(root)
    try:  # up until each pipeline has built its first two intervals
        wait_for(
            lambda: all(
                sum(i.status == "success" for i in led) >= 2 for led in _ledgers(root).values()
            ),
            timeout=90,  # generous: a loaded machine runs each run slowly
        )
        assert server.stop(signal.SIGTERM) == 0
        down = datetime.now(UTC)
        time.sleep(5)
        up = datetime.now(UTC)
        server = Server(root)
        wait_for(lambda: _built_since(root, up + timedelta(seconds=1)), timeout=180, every=0.2)
    finally:
        if server.proc.poll() is None:
            assert server.stop(signal.SIGTERM) == 0
    stopped = datetime.now(UTC)
    ledgers = _ledgers(root)
    # the intervals that ended while no server ran (a second's margin either side)
    missed = {
        i.interval_start
        for i in ledgers["all"]
        if down + timedelta(seconds=1) < i.interval_end < up - timedelta(seconds=1)
    }
    assert len(missed) >= 2, (down, up)
    starts = [i.interval_start for i in ledgers["all"]]
    assert starts == [start + timedelta(seconds=k) for k in range(len(starts))]  # none lost
    assert all(i.status == "success" for i in ledgers["all"] if i.interval_end <= up)
    assert _most_active(ledgers["all"], stopped) == 2  # the limit, reached while catching up
    for mode in ("latest", "none"):
        built = {i.interval_start for i in ledgers[mode]}
        assert not built & missed, (mode, sorted(built), sorted(missed))
        assert min(built) < down and max(built) > up  # ran before and after the downtime
