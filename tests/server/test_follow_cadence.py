"""``headwater run`` through a server follows the run by polling its whole detail: a small
run's detail is cheap and is asked every 0.2 s; a large run's costs the server a second or
so each time (10,000 steps), so the client waits nine times as long as the last answer took
(at most 5 s): following takes about a tenth of the server's time (more only for a detail
slower than 0.55 s, then polled every 5 s). A fake clock and a fake server: the subject is
the cadence, not the time it takes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from headwater.api.records import RunDetail, RunInfo
from headwater.cli import remote


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def time(self) -> float:
        return self.now


class SlowServer:
    """A run that ends at ``ends`` (fake seconds); building its detail takes ``cost`` s."""

    def __init__(self, clock: Clock, cost: float, ends: float) -> None:
        self.clock, self.cost, self.ends, self.asked = clock, cost, ends, 0

    def show(self, project: Any, run_id: str) -> RunDetail:
        self.asked += 1
        self.clock.now += self.cost
        status = "success" if self.clock.now >= self.ends else "running"
        started = datetime(2026, 12, 7, tzinfo=UTC)
        run = RunInfo(run_id, "run", status, "server", None, None, None, started, None)
        return RunDetail(run, [])


@pytest.mark.parametrize(
    ("cost", "polls", "busy_at_most"),
    [(0.002, (200, 300), 0.02), (0.5, (10, 13), 0.11), (2.0, (7, 9), 0.35)],
    ids=["small run: every 0.2 s", "large run: 9x the answer's time", "huge run: every 5 s"],
)
def test_the_client_polls_less_often_as_the_runs_detail_costs_more(
    monkeypatch: pytest.MonkeyPatch, cost: float, polls: tuple[int, int], busy_at_most: float
) -> None:
    clock = Clock()
    monkeypatch.setattr(remote, "time", clock)
    server = SlowServer(clock, cost, ends=50.0)
    result = remote.follow_run(server, "r1", display=lambda event: None)  # type: ignore[arg-type]
    assert result.status == "success"
    assert polls[0] <= server.asked <= polls[1], server.asked
    assert server.asked * cost / clock.now <= busy_at_most  # the server's time spent on it
    assert clock.now - 50.0 <= max(remote.POLL_S, min(remote.FOLLOW_MAX_S, 9 * cost)) + cost
