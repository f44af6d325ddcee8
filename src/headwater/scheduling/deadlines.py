"""Deadlines of scheduled intervals: pure functions for the server's tick (no clock, no I/O).

A pipeline's ``deadline = "HH:MM"`` is a wall-clock time in its ``timezone``. The deadline
of an interval ``[start, end)`` is **the first HH:MM, local time, at or after the interval's
end**: a daily ``0 0 * * *`` schedule with ``deadline = "07:00"`` wants the run of Monday's
interval (ending Tuesday 00:00) to have succeeded by Tuesday 07:00; a daily ``0 6 * * *``
one, the interval ending Tuesday 06:00 by Tuesday 07:00; an interval ending at 08:00, by
07:00 the next day. An interval *misses* its deadline when its run has not succeeded by
then (it failed, still runs or waits, or was never enqueued).

Daylight saving: a deadline that does not exist that day (02:30 on a spring-forward day)
falls at the same offset past the change (03:30); one that happens twice, at its first
occurrence.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from itertools import takewhile

from headwater.scheduling.due import latest_complete
from headwater.scheduling.intervals import Interval, Schedule, intervals

__all__ = ["deadline_of", "deadlines_between", "parse_deadline"]


def parse_deadline(text: str) -> time:
    """``"07:00"`` as a time (the settings checked the ``HH:MM`` form)."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def deadline_of(schedule: Schedule, at: time, end: datetime) -> datetime:
    """The deadline (aware UTC) of an interval ending at ``end``: the first ``at`` in the
    schedule's time zone at or after ``end``.

    >>> from headwater.config.schedule import zone
    >>> s = Schedule(cron="0 0 * * *", every=None, tz=zone("Europe/Berlin"))
    >>> end = datetime(2026, 1, 5, 23, 0, tzinfo=UTC)  # Tuesday 00:00 in Berlin
    >>> deadline_of(s, time(7, 0), end).isoformat()
    '2026-01-06T06:00:00+00:00'
    >>> deadline_of(s, time(7, 0), datetime(2026, 1, 6, 7, 0, tzinfo=UTC)).isoformat()
    '2026-01-07T06:00:00+00:00'
    """
    local = end.astimezone(schedule.tz)
    day = local.date()
    while True:
        wall = datetime.combine(day, at, tzinfo=schedule.tz)
        # round trip through UTC: a wall time that does not exist moves past the change
        instant = wall.astimezone(UTC)
        if instant >= end:
            return instant
        day += timedelta(days=1)


def deadlines_between(
    schedule: Schedule, at: time, after: datetime, now: datetime
) -> Iterator[tuple[Interval, datetime]]:
    """The intervals whose deadline falls in ``(after, now]``, oldest first, each with its
    deadline. An interval's deadline is at most a day past its end, so only the intervals
    that ended after ``after - 1 day`` are looked at."""
    floor = after - timedelta(days=1, minutes=1)
    before = latest_complete(schedule, floor)
    start = before.end if before is not None else schedule.start
    for interval in takewhile(lambda i: i.end <= now, intervals(schedule, after=start)):
        deadline = deadline_of(schedule, at, interval.end)
        if after < deadline <= now:
            yield interval, deadline
