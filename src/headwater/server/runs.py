"""The server's run queue and executor: runs are recorded ``queued`` in the metastore the
moment they are asked for (their id is returned at once) and a worker thread runs them one
at a time, highest priority first (in the order asked within one), through :func:`headwater.api.run` on the server's one open
warehouse (the project's ``threads`` run the steps inside a run).

Contract:

- :meth:`RunQueue.submit` records the run ``queued`` and returns its id; the worker turns
  it ``running`` and, when it is over, ``success``, ``failed`` or ``interrupted``.
- Order: the worker takes the queued run of the highest priority first (its pipeline's
  ``priority``, 0 for a run of no pipeline), in the order asked within a priority.
- :meth:`RunQueue.cancel`: a queued run is taken out (recorded ``interrupted``); a running
  one is stopped as Ctrl-C stops a run (its running steps cancelled, the run recorded
  ``interrupted``), its stopped steps failed with the error ``cancelled (by request)``.
- :meth:`RunQueue.stop`: nothing new starts, the running run is cancelled as by SIGTERM,
  the runs still queued are recorded ``interrupted``; returns when the worker is done.
- ``on_done(run_id, status)`` of a request is called once its run is over: its final
  status, ``cancelled`` when :meth:`RunQueue.cancel` stopped it, ``interrupted`` when the
  server's stop did (also for a queued run that never started); the scheduler finishes its
  interval there.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from headwater import api
from headwater.errors import HeadwaterError
from headwater.metastore import Metastore
from headwater.project import Project
from headwater.runtime.run import new_run_id
from headwater.scheduling import Interval

_log = logging.getLogger("headwater.server")

Done = Callable[[str, str], None]


@dataclass
class RunRequest:
    """What to run: as ``headwater run``'s options, plus the ``trigger`` recorded with the
    run and its data ``interval`` (a scheduled or backfilled one)."""

    select: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    pipeline: str | None = None
    full_refresh: bool = False
    trigger: str = "server"
    interval: Interval | None = None
    run_group: str | None = None  # the outside run this one is a step of (an Airflow DAG run)
    on_done: Done | None = None
    reason: str | None = None  # why a trigger (files, asset, condition) asked for it
    # a retry: rerun what did not succeed in this run (api.retry), recorded as its parent
    retry_of: str | None = None

    def recorded(self) -> dict[str, Any]:
        """The request as stored with the queued run (a restarted server queues it again)."""
        return {
            "request": {
                "select": self.select,
                "exclude": self.exclude,
                "pipeline": self.pipeline,
                "full_refresh": self.full_refresh,
                **({"run_group": self.run_group} if self.run_group else {}),
                **({"retry_of": self.retry_of} if self.retry_of else {}),
            },
            **(
                {"interval_start": self.interval.start.isoformat(),
                 "interval_end": self.interval.end.isoformat()}
                if self.interval is not None
                else {}
            ),
            **({"reason": self.reason} if self.reason else {}),
        }  # fmt: skip


class _Cancel(threading.Event):
    """A run's stop signal. ``by_request``: :meth:`RunQueue.cancel` set it (the steps are
    recorded ``cancelled (by request)``); otherwise ``signum`` says which signal stopped the
    server (15: ``interrupted (SIGTERM)``, 2: ``interrupted (Ctrl-C)``)."""

    signum = int(signal.SIGINT)
    by_request = False


class RunQueue:
    """Queued runs of ``project`` and the one worker thread that runs them."""

    def __init__(self, project: Project) -> None:
        self.project = project
        # a heap keyed (-priority, seq): the highest priority first, FIFO within one
        self._pending: list[tuple[int, int, str, RunRequest]] = []
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._stopping = False
        self._current: tuple[str, _Cancel] | None = None
        self._cancelled: set[str] = set()
        self._worker = threading.Thread(target=self._loop, name="hw-run-queue", daemon=True)

    def start(self) -> None:
        self._worker.start()

    def submit(
        self, request: RunRequest, run_id: str | None = None, *, recorded: bool = False
    ) -> str:
        """Record a run of ``request`` ``queued`` (with ``run_id`` when given) and return
        its id; ``recorded``: the queued run is in the metastore already (queued again after
        a restart). HeadwaterError once the server is stopping."""
        if self._stopping:
            raise HeadwaterError("the server is stopping: it starts no new run")
        run_id = run_id or new_run_id()
        if not recorded:
            with Metastore.open(self.project.metastore_url) as store:
                store.start_run(
                    run_id,
                    project=self.project.name,
                    selection=" ".join(request.select) or None,
                    pipeline=request.pipeline,
                    trigger=request.trigger,
                    parent_run_id=request.retry_of,
                    params=request.recorded(),
                    queued=True,
                )
        key = -self.priority(request)
        with self._wake:
            heapq.heappush(self._pending, (key, next(self._seq), run_id, request))
            self._wake.notify()
        return run_id

    def priority(self, request: RunRequest) -> int:
        """The priority ``request`` waits with: its pipeline's ``priority`` (0 without one)."""
        pipe = self.project.settings.pipelines.get(request.pipeline or "")
        return pipe.priority if pipe is not None else 0

    def cancel(self, run_id: str) -> bool:
        """Stop run ``run_id``: out of the queue if it waits, cancelled if it runs. False
        when this server neither queues nor runs it."""
        item: tuple[str, RunRequest] | None = None
        with self._wake:
            for entry in self._pending:
                if entry[2] == run_id:
                    self._pending.remove(entry)
                    heapq.heapify(self._pending)
                    item = entry[2], entry[3]
                    break
            current = self._current
            self._cancelled.add(run_id)
        if item is not None:
            self._drop(*item)
            return True
        if current is not None and current[0] == run_id:
            current[1].by_request = True
            current[1].set()
            return True
        return False

    def stop(self, signum: int = int(signal.SIGTERM), timeout: float = 60.0) -> None:
        """Start nothing new, cancel the running run (recorded as stopped by ``signum``),
        record the queued ones ``interrupted`` and wait for the worker."""
        with self._wake:
            self._stopping = True
            dropped = [(e[2], e[3]) for e in sorted(self._pending)]
            self._pending.clear()
            current = self._current
            self._wake.notify_all()
        if current is not None:
            current[1].signum = signum
            current[1].by_request = False  # the server's stop wins over a cancel not yet seen
            current[1].set()
        for run_id, request in dropped:
            self._drop(run_id, request)
        if self._worker.is_alive():
            self._worker.join(timeout)

    @property
    def running(self) -> str | None:
        """The id of the run going on now, if any."""
        current = self._current
        return current[0] if current else None

    def _drop(self, run_id: str, request: RunRequest) -> None:
        with Metastore.open(self.project.metastore_url) as store:
            store.finish_run(run_id, "interrupted")
        self._done(request, run_id, "interrupted")

    def _done(self, request: RunRequest, run_id: str, status: str) -> None:
        if status == "interrupted" and run_id in self._cancelled:
            status = "cancelled"
        self._cancelled.discard(run_id)
        if request.on_done is not None:
            try:
                request.on_done(run_id, status)
            except Exception:  # the next run must still start
                _log.exception("run %s: recording its end failed", run_id)

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                _, _, run_id, request = heapq.heappop(self._pending)
                cancel = _Cancel()
                self._current = (run_id, cancel)
            try:
                status = self._execute(run_id, request, cancel)
            finally:
                with self._wake:
                    self._current = None
            self._done(request, run_id, status)

    def _execute(self, run_id: str, request: RunRequest, cancel: _Cancel) -> str:
        """Run one request; its final status (the run records it itself)."""
        try:
            if request.retry_of is not None:
                retried = api.retry(self.project, request.retry_of, queued_id=run_id, cancel=cancel)
                if retried is None:  # it all succeeded since it was queued: nothing to do
                    _fail_queued(self.project, run_id, "success")
                    return "success"
                return retried.status
            result = api.run(
                self.project,
                request.select or None,
                request.exclude or None,
                request.pipeline,
                full_refresh=request.full_refresh,
                trigger=request.trigger,
                run_id=run_id,
                cancel=cancel,
                interval=request.interval,
                run_group=request.run_group,
                reason=request.reason,
            )
        except KeyboardInterrupt:  # RunInterrupted: cancelled, recorded interrupted
            return "interrupted"
        except Exception as exc:  # a run that could not start: record why, keep serving
            _log.error("run %s: %s", run_id, exc)
            _fail_queued(self.project, run_id)
            return "failed"
        return result.status


def _fail_queued(project: Project, run_id: str, status: str = "failed") -> None:
    """A run that failed before it started is still ``queued``: record it ``failed`` (or
    ``status``: a retry that found nothing to do is a ``success``)."""
    with Metastore.open(project.metastore_url) as store:
        record = store.get_run(run_id)
        if record is not None and record.status in ("queued", "running"):
            store.finish_run(run_id, status)
