"""The ledger of scheduled intervals: each (pipeline, interval) enqueued once and claimed by
one run, whoever asks at the same time (threads, processes), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from metastore_helpers import subprocess_env

from headwater.metastore import Metastore

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _hours(first: int, count: int) -> list[tuple[datetime, datetime]]:
    return [(T0 + (first + i) * HOUR, T0 + (first + i + 1) * HOUR) for i in range(count)]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def test_an_interval_is_enqueued_once_then_claimed_and_finished(url: str) -> None:
    with Metastore.open(url) as ms:
        first = ms.enqueue_intervals("daily", _hours(0, 3))
        assert [(r.interval_start, r.interval_end, r.status) for r in first] == [
            (s, e, "queued") for s, e in _hours(0, 3)
        ]
        # the same intervals again, and two more: only the new ones come back
        again = ms.enqueue_intervals("daily", _hours(0, 5))
        assert [r.interval_start for r in again] == [s for s, _ in _hours(3, 2)]
        assert ms.enqueue_intervals("other", _hours(0, 1))[0].pipeline == "other"
        assert ms.active_count("daily") == 5

        start = T0 + HOUR
        assert ms.claim_interval("daily", start, "run-1")
        assert not ms.claim_interval("daily", start, "run-2")  # one winner
        (running,) = ms.intervals("daily", status="running")
        assert (running.interval_start, running.run_id, running.attempts) == (start, "run-1", 1)
        assert running.started_at is not None and running.started_at.tzinfo == UTC

        assert ms.finish_interval("daily", start, "success")
        assert not ms.finish_interval("daily", start, "failed")  # already final
        assert ms.active_count("daily") == 4
        assert ms.finish_interval("daily", T0, "cancelled")  # a queued one can be cancelled
        assert [r.status for r in ms.intervals("daily")] == [
            "cancelled",
            "success",
            "queued",
            "queued",
            "queued",
        ]
        # a finished interval is never enqueued again (the clock does not re-run it)
        assert ms.enqueue_intervals("daily", _hours(0, 2)) == []
        with pytest.raises(ValueError, match="final interval status"):
            ms.finish_interval("daily", T0 + 2 * HOUR, "running")


def test_naive_or_empty_intervals_are_refused(store: Metastore) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        store.enqueue_intervals("p", [(datetime(2026, 1, 1), datetime(2026, 1, 2))])
    with pytest.raises(ValueError, match="empty interval"):
        store.enqueue_intervals("p", [(T0, T0)])
    assert store.intervals("p") == []


def test_threads_claiming_one_interval_have_one_winner(store: Metastore) -> None:
    store.enqueue_intervals("p", _hours(0, 1))
    barrier = threading.Barrier(8)
    won: list[str] = []

    def claim(run_id: str) -> None:
        barrier.wait()
        if store.claim_interval("p", T0, run_id):
            won.append(run_id)

    threads = [threading.Thread(target=claim, args=(f"run-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(won) == 1
    assert store.intervals("p")[0].run_id == won[0]


CHILD = """
import json, sys, time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from headwater.metastore import Metastore

url, go = sys.argv[1], Path(sys.argv[2])
t0, hour = datetime(2026, 3, 1, tzinfo=UTC), timedelta(hours=1)
ms = Metastore.open(url)
while not go.exists():
    time.sleep(0.005)
mine = []
for i in range(120):  # one call per interval: the two processes interleave
    batch = [(t0 + i * hour, t0 + (i + 1) * hour), (t0 + (i + 1) * hour, t0 + (i + 2) * hour)]
    mine += [r.interval_start.isoformat() for r in ms.enqueue_intervals("p", batch)]
ms.close()
print(json.dumps(mine))
"""


def test_two_processes_never_both_enqueue_an_interval(url: str, tmp_path: Path) -> None:
    Metastore.open(url).close()  # the schema first: the race is on the rows
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, url, str(go)],
            env=subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    time.sleep(1.0)  # both opened and waiting
    go.touch()
    got = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        got.append(set(json.loads(out)))
    assert got[0].isdisjoint(got[1])
    every = {s.isoformat() for s, _ in _hours(0, 121)}
    assert got[0] | got[1] == every
    with Metastore.open(url) as ms:
        assert len(ms.intervals("p")) == 121
