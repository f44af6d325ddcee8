"""Backfill, the pure part: which of a schedule's intervals a range covers, and which
finished ones each ``--reprocess`` mode runs again. No I/O (the ledger's part is in
:mod:`headwater.api.backfill`).

- ``missing`` (default): only the intervals not in the ledger yet (and those left queued by
  an earlier backfill that was stopped: running backfill again resumes it).
- ``failed``: those too, and the ones whose run failed or was cancelled.
- ``all``: every interval of the range, a successful one rebuilt too.
"""

from __future__ import annotations

from datetime import datetime
from itertools import takewhile
from typing import Literal

from headwater.scheduling.intervals import Interval, Schedule, intervals

Reprocess = Literal["missing", "failed", "all"]
REPROCESS: tuple[Reprocess, ...] = ("missing", "failed", "all")

_REOPEN: dict[str, frozenset[str]] = {
    "missing": frozenset(),
    "failed": frozenset({"failed", "cancelled"}),
    "all": frozenset({"success", "failed", "cancelled"}),
}


def in_range(schedule: Schedule, start: datetime, end: datetime) -> list[Interval]:
    """The schedule's intervals that lie in ``[start, end)`` (an interval sticking out of the
    range is left out), oldest first; none before the schedule's ``start`` or after its
    ``end``.

    >>> from datetime import UTC
    >>> from headwater.config.schedule import zone
    >>> s = Schedule(cron="0 0 * * *", every=None, tz=zone("UTC"))
    >>> [f"{i.start:%d}" for i in in_range(s, datetime(2026, 1, 1, tzinfo=UTC),
    ...                                     datetime(2026, 1, 4, 6, tzinfo=UTC))]
    ['01', '02', '03']
    """
    return list(takewhile(lambda i: i.end <= end, intervals(schedule, after=start)))


def reopened(mode: str) -> frozenset[str]:
    """The final ledger statuses that mode ``mode`` queues again (ValueError: unknown mode)."""
    if mode not in _REOPEN:
        raise ValueError(f"unknown reprocess mode {mode!r}: expected one of {', '.join(REPROCESS)}")
    return _REOPEN[mode]
