"""Commands through a live ``headwater server``: :func:`server_of` finds it, and
:func:`follow_run` prints a queued run's progress as an in-process run prints it (a line
per finished step, then the same summary), polling ``GET /api/runs/{id}`` (every 0.2 s, less
often for a run whose detail is slow to build: see ``FOLLOW_RATIO``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.server.client import Remote, connect

if TYPE_CHECKING:  # the runtime is imported by follow_run: `runs` without a server stays light
    from headwater.runtime import Event, RunResult

POLL_S = 0.2
# Following a run costs the server (its whole detail, every step, each poll): wait FOLLOW_RATIO
# times as long as the last poll took, so following takes about a tenth of the server's
# time (a 10,000-step run's detail takes it 0.3-1 s to build; a small run's, ms), but no
# more than FOLLOW_MAX_S (the run's end is seen that late at worst)
FOLLOW_RATIO = 9.0
FOLLOW_MAX_S = 5.0
_FINAL = frozenset({"success", "failed", "interrupted", "abandoned"})


def server_of(project: Path) -> Remote | None:
    """The live server of the project in folder ``project``, or None (work in-process)."""
    return connect(project)


def follow_run(remote: Remote, run_id: str, display: Any) -> RunResult:
    """Feed ``display`` (a RunDisplay) each step's start and end as the server records
    them, until run ``run_id`` is over; the run's result, as :func:`headwater.api.run`
    returns it. Ctrl-C cancels the run on the server and re-raises."""
    from headwater.runtime import Event, RunResult, StepState

    started: set[str] = set()
    finished: set[str] = set()
    try:
        while True:
            asked = time.monotonic()
            detail = remote.show(None, run_id)
            took = time.monotonic() - asked
            for step in detail.steps:
                if step.status == "running" and step.step not in started:
                    started.add(step.step)
                    display(Event("started", step.step, step.attempts, "running", time.time()))
                elif step.finished_at is not None and step.step not in finished:
                    finished.add(step.step)
                    display(_finished(step))
            if detail.run.status in _FINAL:
                break
            time.sleep(max(POLL_S, min(FOLLOW_MAX_S, FOLLOW_RATIO * took)))
    except KeyboardInterrupt:
        remote.cancel(run_id)
        raise
    states = {
        s.step: StepState(
            s.status,
            s.attempts,
            s.started_at.timestamp() if s.started_at else None,
            s.finished_at.timestamp() if s.finished_at else None,
            {"rows_in": s.rows_in, "rows_out": s.rows_out},
            s.error,
        )
        for s in detail.steps
    }
    return RunResult(run_id, detail.run.status, states, detail.run.seconds or 0.0)


def _finished(step: Any) -> Event:
    from headwater.runtime import Event

    assert step.finished_at is not None
    return Event(
        "finished",
        step.step,
        step.attempts,
        step.status,
        step.finished_at.timestamp(),
        error=step.error,
        result={"rows_in": step.rows_in, "rows_out": step.rows_out},
        first_started_at=step.started_at.timestamp() if step.started_at else None,
    )
