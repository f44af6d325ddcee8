"""The server's housekeeping thread: missed deadlines and history retention.

Each tick (a second), for every scheduled pipeline with a ``deadline``, the intervals whose
deadline passed since the last tick (:func:`headwater.scheduling.deadlines.deadlines_between`)
and whose run has not succeeded (the metastore's ledger) get one ``deadline_missed`` alert.
The first tick looks back :data:`LOOKBACK` (a deadline that passed while no server ran is
alerted when the server starts; a server restarted within that day may alert it again: a
repeated alert is better than a lost one). Within a process each interval alerts once: the
ticks' windows do not overlap.

Once a day (the first tick, then every 24 hours), with ``[project] history_days`` set, the
runs older than that are pruned (:func:`headwater.api.prune_history`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from headwater import api
from headwater.alerts import deadline_alert, notify
from headwater.metastore import Metastore
from headwater.project import Project
from headwater.scheduling import Schedule, schedule_of
from headwater.scheduling.deadlines import deadlines_between, parse_deadline

_log = logging.getLogger("headwater.server")
TICK_S = 1.0
LOOKBACK = timedelta(days=1)
PRUNE_EVERY = timedelta(days=1)
STANDBY_LOOKBACK = timedelta(minutes=1)  # a standby turned leader alerts again what passed


class Housekeeper:
    """Checks ``project``'s deadlines each tick and prunes its history daily, on a thread."""

    def __init__(self, project: Project, *, tick: float = TICK_S, now: datetime | None = None):
        self.project, self.tick = project, tick
        self.deadlines: dict[str, tuple[Schedule, time]] = {}
        for name, pipe in project.settings.pipelines.items():
            schedule = schedule_of(pipe)
            if schedule is not None and pipe.deadline is not None:
                self.deadlines[name] = (schedule, parse_deadline(pipe.deadline))
        self.checked = (now or datetime.now(UTC)) - LOOKBACK
        self.pruned_at: datetime | None = None
        # several servers on one PostgreSQL metastore: only the leader keeps house
        self.leading: Callable[[], bool] = lambda: True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hw-housekeeping", daemon=True)

    def start(self) -> None:
        if self.deadlines or self.project.settings.project.history_days:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = datetime.now(UTC)
            if not self.leading():  # a standby: should it lead, it looks back a minute
                self.checked = max(self.checked, now - STANDBY_LOOKBACK)
                self._stop.wait(self.tick)
                continue
            try:
                self.check_deadlines(now)
                self.prune_if_due(now)
            except Exception:  # a locked metastore, say: try again next tick
                _log.exception("housekeeping tick failed")
            self._stop.wait(self.tick)

    def check_deadlines(self, now: datetime) -> int:
        """Alert the intervals whose deadline passed in (last check, ``now``] unbuilt; the
        number of alerts queued."""
        passed = {
            name: due
            for name, (schedule, at) in self.deadlines.items()
            if (due := list(deadlines_between(schedule, at, self.checked, now)))
        }
        sent = 0
        if not passed:  # the common tick: no deadline passed, no metastore read
            self.checked = now
            return sent
        with Metastore.open(self.project.metastore_url) as store:
            for name, due in passed.items():
                ledger = {r.interval_start: r for r in store.intervals(name)}
                for interval, deadline in due:
                    record = ledger.get(interval.start)
                    if record is not None and record.status == "success":
                        continue
                    status = record.status if record else "missing"
                    alert = deadline_alert(
                        self.project.name,
                        name,
                        interval,
                        status,
                        record.run_id if record else None,
                        deadline,
                    )
                    sent += notify(self.project.settings.alerts, alert)
                    _log.warning("pipeline %s: interval %s missed its deadline", name, interval)
        self.checked = now
        return sent

    def prune_if_due(self, now: datetime) -> None:
        """Prune the history older than ``history_days``, at most once a day."""
        days = self.project.settings.project.history_days
        if not days or (self.pruned_at is not None and now - self.pruned_at < PRUNE_EVERY):
            return
        self.pruned_at = now
        report = api.prune_history(self.project, timedelta(days=days), now=now)
        if report.runs:
            _log.info("history: pruned %d runs older than %d days", len(report.runs), days)
