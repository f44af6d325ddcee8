"""Schedules: the data intervals of a pipeline's ``schedule`` or ``every``, which of them are
due at a given time, and crontab lines for teams without a server. Pure (no I/O, no clock:
every function takes ``now``); the server's loop and the metastore's ledger build on it.

::

    from headwater.scheduling import due, schedule_of

    schedule = schedule_of(settings.pipelines["daily"])   # None: not scheduled
    new = due(schedule, now, enqueued=starts, active=active, since=server_started)
"""

from __future__ import annotations

from headwater.scheduling.due import due, latest_complete, next_end
from headwater.scheduling.intervals import Interval, Schedule, intervals, schedule_of

__all__ = [
    "Interval",
    "Schedule",
    "due",
    "intervals",
    "latest_complete",
    "next_end",
    "schedule_of",
]
