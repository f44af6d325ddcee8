"""Which intervals of a schedule to enqueue now: pure functions for the scheduler's tick.

The scheduler asks, each tick and for each scheduled pipeline::

    new = due(schedule, now, enqueued=store_starts, active=store.active_count(p), since=up_at)
    store.enqueue_intervals(p, new)      # the metastore's unique key: each one once

An interval ``[start, end)`` is *complete* once ``end <= now`` (a run covers a finished
interval, as in Airflow); only complete intervals are due. ``enqueued`` holds the starts of the
pipeline's intervals already in the ledger, whatever their status: none of them is due again
(a failed one is re-run by backfill or retry, never by the clock).

``catchup`` decides which missing complete intervals are due:

- ``"all"``: every one from the schedule's ``start`` (without a ``start``: from the earliest
  interval in the ledger; with an empty ledger too, the latest complete interval only, so a
  schedule without ``start`` never runs its history back to 1970), oldest first.
- ``"latest"``: only the latest complete interval; the ones missed before it are skipped.
- ``"none"``: only those that ended after ``since`` (when the scheduler started: the server's
  start), oldest first; intervals that ended while no scheduler ran are never run.

``max_active_runs``: at most ``max_active_runs - active`` are returned (``active``: the
pipeline's intervals queued or running); the rest stay missing and are due on a later tick.
The ``end`` of the schedule bounds them all (intervals past it never exist).

Cost: ``"all"`` walks the schedule from its start on each tick (about 20 us per cron step:
a year of hourly intervals is under 0.2 s); the other modes look only near ``now``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime, timedelta
from itertools import takewhile

from headwater.scheduling.intervals import EPOCH, Interval, Schedule, intervals

__all__ = ["due", "latest_complete", "next_end"]


def due(
    schedule: Schedule,
    now: datetime,
    *,
    enqueued: Collection[datetime] = (),
    active: int = 0,
    since: datetime | None = None,
) -> list[Interval]:
    """The intervals to enqueue at ``now`` (see the module docstring), oldest first.

    >>> from datetime import UTC
    >>> from headwater.config.schedule import zone
    >>> s = Schedule(cron="0 * * * *", every=None, tz=zone("UTC"), catchup="all",
    ...              start=datetime(2026, 1, 1, tzinfo=UTC), max_active_runs=2)
    >>> now = datetime(2026, 1, 1, 3, 10, tzinfo=UTC)
    >>> [f"{i.start:%H}-{i.end:%H}" for i in due(s, now, enqueued={s.start})]
    ['01-02', '02-03']
    >>> due(s, now, enqueued={s.start}, active=2)
    []
    """
    room = schedule.max_active_runs - active
    if room <= 0:
        return []
    if schedule.catchup == "latest":
        last = latest_complete(schedule, now)
        return [last] if last is not None and last.start not in enqueued else []
    if schedule.catchup == "none":
        before = latest_complete(schedule, since or now)
        after = before.end if before is not None else None
    else:  # "all"
        after = schedule.start or (min(enqueued) if enqueued else None)
        if after is None:
            last = latest_complete(schedule, now)
            return [last] if last is not None else []
    missing = (i for i in _complete(schedule, after, now) if i.start not in enqueued)
    return [i for _, i in zip(range(room), missing, strict=False)]


def latest_complete(schedule: Schedule, now: datetime) -> Interval | None:
    """The last interval that ended at or before ``now`` (None: none has yet).

    The search starts an hour back and doubles its window until it finds one or reaches the
    schedule's start (or the epoch), so a yearly schedule costs a few more steps, not a walk
    from 1970.
    """
    floor = schedule.start or EPOCH
    span = timedelta(hours=1)
    while True:
        after = max(now - span, floor)
        found = None
        for found in _complete(schedule, after, now):  # noqa: B007 (the last one is kept)
            pass
        if found is not None or after == floor:
            return found
        span *= 2


def next_end(schedule: Schedule, now: datetime) -> datetime | None:
    """When the next interval completes (the scheduler may sleep until then); None when the
    schedule has ended.

    >>> from datetime import UTC
    >>> from headwater.config.schedule import zone
    >>> s = Schedule(cron=None, every=timedelta(minutes=15), tz=zone("UTC"))
    >>> next_end(s, datetime(2026, 1, 1, 6, 7, tzinfo=UTC)).isoformat()
    '2026-01-01T06:15:00+00:00'
    """
    last = latest_complete(schedule, now)
    following = intervals(schedule, after=last.end if last else None)
    return next((i.end for i in following if i.end > now), None)


def _complete(schedule: Schedule, after: datetime | None, now: datetime) -> Iterator[Interval]:
    """The intervals from the first fire time at or after ``after`` that ended by ``now``."""
    return takewhile(lambda i: i.end <= now, intervals(schedule, after=after))
