"""The data intervals of a schedule: consecutive ``[start, end)`` ranges, aware, in UTC.

Contract: :func:`schedule_of` turns a pipeline's settings into a :class:`Schedule` (None for a
pipeline without ``schedule`` or ``every``); :func:`intervals` yields its intervals in order,
each ``end`` the next one's ``start`` (no gap, no overlap), from the first whose start is at or
after the schedule's ``start`` (or a given instant) and only those whose end is at or before
the schedule's ``end``.

- ``schedule = "0 6 * * *"``: the fire times of the cron expression, read as *wall-clock*
  times in ``timezone``; an interval runs from one fire time to the next.
- ``every = "15m"``: fixed steps of elapsed time from ``start`` (or from 1970-01-01T00:00Z
  without one); daylight saving does not move them.

Daylight saving (cron schedules), wall-clock semantics ("a skipped hour runs once, a repeated
hour once"):

- A fire time that does not exist (spring forward, Europe/Berlin 02:30 on the last Sunday of
  March) fires once, at the same offset past the change (03:30 CEST). When that instant is
  also a fire time of its own (hourly 02:00 -> 03:00), the two are one fire time.
- A fire time that happens twice (autumn back, 02:30 on the last Sunday of October) fires
  once, at its first occurrence (CEST). So an hourly schedule has **one** interval for the
  repeated hour, two hours long: 02:00 CEST to 03:00 CET.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal, NamedTuple

from headwater.config.schedule import as_instant, parse_every, zone
from headwater.config.settings import PipelineSettings

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Catchup = Literal["all", "latest", "none"]


class Interval(NamedTuple):
    """A data interval ``[start, end)``: aware UTC datetimes. A plain pair, so the metastore
    (a lower layer) takes it as ``tuple[datetime, datetime]``."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Schedule:
    """One pipeline's schedule: exactly one of ``cron`` and ``every``; ``start`` and ``end``
    aware UTC (or None)."""

    cron: str | None
    every: timedelta | None
    tz: tzinfo
    start: datetime | None = None
    end: datetime | None = None
    catchup: Catchup = "latest"
    max_active_runs: int = 1


def schedule_of(pipe: PipelineSettings) -> Schedule | None:
    """The schedule of a pipeline's (checked) settings; None when it has none.

    >>> s = schedule_of(PipelineSettings(every="15m", start="2026-01-01", timezone="Europe/Berlin"))
    >>> s.every, s.start.isoformat()
    (datetime.timedelta(seconds=900), '2025-12-31T23:00:00+00:00')
    """
    if pipe.schedule is None and pipe.every is None:
        return None
    tz = zone(pipe.timezone)
    return Schedule(
        cron=pipe.schedule,
        every=parse_every(pipe.every) if pipe.every is not None else None,
        tz=tz,
        start=as_instant(pipe.start, tz) if pipe.start is not None else None,
        end=as_instant(pipe.end, tz) if pipe.end is not None else None,
        catchup=pipe.catchup,
        max_active_runs=pipe.max_active_runs,
    )


def intervals(schedule: Schedule, after: datetime | None = None) -> Iterator[Interval]:
    """The schedule's intervals in order, endless unless the schedule has an ``end``.

    The first starts at the first fire time at or after ``after`` (default: the schedule's
    ``start``, else the epoch); iterating from a late ``after`` costs nothing for the history
    before it.

    >>> s = Schedule(cron="30 2 * * *", every=None, tz=zone("Europe/Berlin"))
    >>> it = intervals(s, after=datetime(2026, 3, 28, 1, 30, tzinfo=UTC))
    >>> [f"{i.start:%d %H:%M}-{i.end:%d %H:%M}" for i in (next(it), next(it))]
    ['28 01:30-29 01:30', '29 01:30-30 00:30']
    """
    lower = max(x for x in (after, schedule.start, EPOCH) if x is not None)
    fires = _every_fires(schedule, lower) if schedule.every else _cron_fires(schedule, lower)
    previous = next(fires)
    for fire in fires:
        if schedule.end is not None and fire > schedule.end:
            return
        yield Interval(previous, fire)
        previous = fire


def _every_fires(schedule: Schedule, lower: datetime) -> Iterator[datetime]:
    """``anchor + k * every`` for k from the first at or after ``lower``."""
    step = schedule.every
    assert step is not None
    anchor = schedule.start or EPOCH
    k = max(0, -(-(lower - anchor) // step))  # ceiling division of timedeltas
    while True:
        yield anchor + k * step
        k += 1


def _cron_fires(schedule: Schedule, lower: datetime) -> Iterator[datetime]:
    """The cron expression's fire times at or after ``lower``, as UTC instants, strictly
    increasing. croniter walks *naive* wall-clock times (so DST cannot make it skip or repeat
    one); each becomes an instant in the zone with ``fold=0`` (a repeated time: its first
    occurrence; a missing time: shifted forward by the gap), and an instant not after the
    previous one (the same hour reached twice across spring forward) is dropped."""
    from croniter import croniter

    tz = schedule.tz
    local = lower.astimezone(tz).replace(tzinfo=None)
    # one minute back so that a fire time equal to ``lower`` is found; up to a day back
    # covers a wall-clock time that spring forward moves past ``lower``
    it = croniter(schedule.cron, local - timedelta(days=1, minutes=1))
    last: datetime | None = None
    while True:
        wall: datetime = it.get_next(datetime)
        instant = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
        if instant < lower or (last is not None and instant <= last):
            continue
        last = instant
        yield instant
