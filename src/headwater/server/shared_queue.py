"""The run queue of a server whose metastore is shared (PostgreSQL): :class:`SharedRunQueue`.

The queue is the metastore itself: a run asked of any server is recorded ``queued`` and
unclaimed, and the worker of every live server, when free, claims the next one
(:meth:`~headwater.metastore.Metastore.claim_next_run`: ``FOR UPDATE SKIP LOCKED``, the highest
``priority`` first, then the oldest) and runs it. So each run is run by one server, and a run
asked of a busy server is taken by an idle one. A worker wakes at once for a run asked of its
own server, and looks for the others' every :data:`POLL_S` seconds.

What differs from :class:`~headwater.server.runs.RunQueue` (SQLite, one server):

- the request is read back from the queued run's record (its ``params``), and the run's end
  settles its scheduled interval in the ledger, whichever server queued it
  (:meth:`~headwater.metastore.Metastore.settle_interval`);
- ``on_done`` of a request (the scheduler's, a trigger's, a single-run backfill's) stays with
  the server it was asked of: called there when that server runs it, or, when another server
  did, once the metastore records the run over (looked at every :data:`POLL_S` seconds by a
  thread of the queue; ``abandoned`` is reported ``interrupted``);
- :meth:`SharedRunQueue.cancel` takes a queued run out whoever queued it; a running run is
  stopped only by the server that runs it (another answers False);
- :meth:`SharedRunQueue.stop` leaves the queued runs queued, for the other servers or the next
  one to start: only the running run is stopped (recorded ``interrupted``, its interval queued
  again).
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
from datetime import datetime
from typing import Any

from headwater.errors import HeadwaterError
from headwater.metastore import Metastore, RunRecord
from headwater.project import Project
from headwater.runtime.run import new_run_id
from headwater.scheduling import Interval
from headwater.server.runs import Done, RunQueue, RunRequest, _Cancel

__all__ = ["POLL_S", "SharedRunQueue", "request_of"]

_log = logging.getLogger("headwater.server")
POLL_S = 0.5
"""Seconds between two looks of an idle worker for runs queued through other servers."""


def request_of(record: RunRecord) -> RunRequest:
    """The request of a queued run, as :meth:`RunRequest.recorded` stored it."""
    params = record.params
    asked = params.get("request")
    asked = asked if isinstance(asked, dict) else {}
    known = {f.name for f in dataclasses.fields(RunRequest)}
    extra: dict[str, Any] = {
        key: value
        for key, value in (
            ("run_group", asked.get("run_group")),
            ("reason", params.get("reason")),
            ("retry_of", asked.get("retry_of")),  # a retry reruns its parent's failures
        )
        if key in known and value
    }
    request = RunRequest(
        list(asked.get("select") or []),
        list(asked.get("exclude") or []),
        asked.get("pipeline") or record.pipeline,
        bool(asked.get("full_refresh")),
        trigger=record.trigger,
        **extra,
    )
    start, end = params.get("interval_start"), params.get("interval_end")
    if isinstance(start, str) and isinstance(end, str):
        request.interval = Interval(datetime.fromisoformat(start), datetime.fromisoformat(end))
    return request


class SharedRunQueue(RunQueue):
    """The queue of server ``server_id`` on ``project``'s shared metastore."""

    def __init__(self, project: Project, server_id: str, *, poll: float = POLL_S) -> None:
        super().__init__(project)
        self.server_id, self.poll = server_id, poll
        self._kicked = False  # a run was asked of this server since the worker last looked
        self._store = Metastore.open(project.metastore_url)
        self._priorities = {
            name: pipe.priority for name, pipe in project.settings.pipelines.items()
        }
        self._callbacks: dict[str, Done] = {}  # on_done of the runs asked of this server
        self._reaper = threading.Thread(target=self._reap_loop, name="hw-run-ends", daemon=True)

    def start(self) -> None:
        super().start()
        self._reaper.start()

    def submit(
        self, request: RunRequest, run_id: str | None = None, *, recorded: bool = False
    ) -> str:
        """Record a run of ``request`` ``queued`` in the shared queue and return its id
        (any server may run it; ``request.on_done`` is not kept: the end of a run settles
        its interval instead). HeadwaterError once the server is stopping."""
        if self._stopping:
            raise HeadwaterError("the server is stopping: it starts no new run")
        run_id = run_id or new_run_id()
        if not recorded:
            self._store.start_run(
                run_id,
                project=self.project.name,
                selection=" ".join(request.select) or None,
                pipeline=request.pipeline,
                trigger=request.trigger,
                params=request.recorded(),
                queued=True,
            )
        with self._wake:
            if request.on_done is not None:
                self._callbacks[run_id] = request.on_done
            self._kicked = True
            self._wake.notify()
        return run_id

    def cancel(self, run_id: str) -> bool:
        """Stop run ``run_id``: out of the shared queue if it waits (whoever queued it),
        cancelled if this server runs it. False otherwise."""
        with self._wake:
            current = self._current
        if current is not None and current[0] == run_id:
            self._cancelled.add(run_id)
            current[1].by_request = True
            current[1].set()
            return True
        record = self._store.get_run(run_id)
        if record is None or record.status != "queued":
            return False
        if not self._store.drop_queued_run(run_id):
            return False
        self._settle(request_of(record), run_id, "cancelled")
        with self._wake:
            local = self._callbacks.pop(run_id, None)
        _call(local, run_id, "cancelled")
        return True

    def stop(self, signum: int = int(signal.SIGTERM), timeout: float = 60.0) -> None:
        """Start nothing new and stop the running run (recorded as stopped by ``signum``);
        queued runs stay queued for the other servers. Returns when the worker is done."""
        with self._wake:
            self._stopping = True
            current = self._current
            self._wake.notify_all()
        if current is not None:
            current[1].signum = signum
            current[1].by_request = False
            current[1].set()
        if self._worker.is_alive():
            self._worker.join(timeout)
        if self._reaper.is_alive():
            self._reaper.join(timeout)
        self._store.close()

    def stop_running(self) -> None:
        """Stop the running run as SIGTERM would (this server was taken for dead: another
        runs its interval now); the queue goes on."""
        with self._wake:
            current = self._current
        if current is not None:
            current[1].signum = int(signal.SIGTERM)
            current[1].set()

    def _claim(self) -> tuple[str, RunRequest] | None:
        record = self._store.claim_next_run(self.server_id, self._priorities)
        if record is None:
            return None
        request = request_of(record)
        with self._wake:
            local = self._callbacks.pop(record.run_id, None)

        def done(run_id: str, status: str) -> None:
            self._settle(request, run_id, status)
            _call(local, run_id, status)

        request.on_done = done
        return record.run_id, request

    def _reap_loop(self) -> None:
        """Call the ``on_done`` of runs asked of this server and run by another, once over."""
        while True:
            with self._wake:
                if self._stopping:
                    return
                waiting = list(self._callbacks)
            try:
                self._reap(waiting)
            except Exception:  # an unreachable metastore: look again later
                _log.exception("reading the end of runs failed")
            with self._wake:
                if not self._stopping:
                    self._wake.wait(self.poll)

    def _reap(self, run_ids: list[str]) -> None:
        for run_id in run_ids:
            record = self._store.get_run(run_id)
            if record is None or record.status in ("queued", "running"):
                continue
            with self._wake:
                local = self._callbacks.pop(run_id, None)
            status = "interrupted" if record.status == "abandoned" else record.status
            _call(local, run_id, status)

    def _settle(self, request: RunRequest, run_id: str, status: str) -> None:
        """A run of a scheduled interval ended: record it in the ledger (a no-op for a run
        whose interval is not the ledger's, e.g. ``POST /api/runs`` with bounds)."""
        if request.interval is not None and request.pipeline is not None:
            self._store.settle_interval(request.pipeline, request.interval.start, run_id, status)

    def _loop(self) -> None:
        while True:
            with self._wake:
                if self._stopping:
                    return
                self._kicked = False
            try:
                claimed = self._claim()
            except Exception:  # an unreachable metastore: look again later
                _log.exception("claiming a queued run failed")
                claimed = None
            if claimed is None:
                with self._wake:
                    if not self._kicked and not self._stopping:
                        self._wake.wait(self.poll)
                continue
            run_id, request = claimed
            cancel = _Cancel()
            with self._wake:
                stopping = self._stopping
                if not stopping:
                    self._current = (run_id, cancel)
            if stopping:  # claimed as the server stopped: back to the queue, unrun
                self._store.release_claim(run_id, self.server_id)
                return
            try:
                status = self._execute(run_id, request, cancel)
            finally:
                with self._wake:
                    self._current = None
            self._done(request, run_id, status)


def _call(callback: Done | None, run_id: str, status: str) -> None:
    """``callback(run_id, status)`` if any; its failure is logged (the queue goes on)."""
    if callback is None:
        return
    try:
        callback(run_id, status)
    except Exception:
        _log.exception("run %s: recording its end failed", run_id)
