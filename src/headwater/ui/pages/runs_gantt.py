"""The run page's Gantt timeline: where each step's bar sits on the run's time axis, as
percentages the template turns into positioned boxes (no script, no library: a bar per
step, readable and printable, each linking to its step's row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from headwater.api.records import RunDetail

MIN_WIDTH = 0.4  # percent: a step of a few milliseconds stays visible and clickable


@dataclass(frozen=True)
class Bar:
    """One step's bar: ``left`` and ``width`` in percent of the run's span; ``seconds``
    its duration so far (None for a step that never started: no bar, ``width`` 0)."""

    step: str
    status: str
    left: float
    width: float
    seconds: float | None


def gantt_bars(detail: RunDetail, now: datetime | None = None) -> list[Bar]:
    """A bar per step of ``detail`` in start order, over the run's span: from its start
    to its end (now while it runs; a running step's bar reaches now too)."""
    now = now or datetime.now(UTC)
    starts = [s.started_at for s in detail.steps if s.started_at is not None]
    if not starts:
        return [Bar(s.step, s.status, 0.0, 0.0, None) for s in detail.steps]
    t0 = min([detail.run.started_at, *starts])
    ends = [s.finished_at or now for s in detail.steps if s.started_at is not None]
    t1 = max([detail.run.finished_at or now, *ends])
    span = max((t1 - t0).total_seconds(), 1e-3)
    bars = []
    for s in detail.steps:
        if s.started_at is None:
            bars.append(Bar(s.step, s.status, 0.0, 0.0, None))
            continue
        seconds = ((s.finished_at or now) - s.started_at).total_seconds()
        left = (s.started_at - t0).total_seconds() / span * 100
        width = max(seconds / span * 100, MIN_WIDTH)
        bars.append(Bar(s.step, s.status, round(left, 2), round(min(width, 100 - left), 2),
                        round(seconds, 3)))  # fmt: skip
    return bars
