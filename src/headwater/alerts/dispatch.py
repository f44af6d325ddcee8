"""The process's alert sender: a bounded queue and one daemon thread, so that sending never
fails or slows a run (:func:`notify` returns at once; a full queue drops the alert with a
log line). At exit the process waits for the queue, at most :data:`FLUSH_S` seconds: a CLI
run that failed still alerts before the process ends."""

from __future__ import annotations

import atexit
import json
import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from headwater.alerts.payload import Alert
from headwater.alerts.send import deliver
from headwater.config.settings import AlertSettings

_log = logging.getLogger("headwater.alerts")

QUEUE_MAX = 100  # alerts waiting to be sent; more are dropped (logged)
FLUSH_S = 30.0  # the longest the process waits at exit for alerts still being sent

_Job = tuple[str, AlertSettings, Alert, Path | None]


class _Dispatcher:
    """One daemon thread delivering queued jobs in order; :meth:`flush` waits for them."""

    def __init__(self) -> None:
        self._jobs: list[_Job] = []
        self._busy = 0  # jobs taken but not finished
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def put(self, job: _Job) -> bool:
        with self._cond:
            if len(self._jobs) >= QUEUE_MAX:
                return False
            self._jobs.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="hw-alerts", daemon=True)
                self._thread.start()
                atexit.register(self.flush, FLUSH_S)
            self._cond.notify_all()
        return True

    def flush(self, timeout: float) -> bool:
        """Wait until every queued alert was sent (or failed); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._jobs and not self._busy, timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._jobs))
                job = self._jobs.pop(0)
                self._busy += 1
            try:
                _send(*job)
            except Exception:  # never let one alert stop the next
                _log.exception("alert %s: sending failed", job[0])
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()


_DISPATCHER = _Dispatcher()


def notify(
    targets: Mapping[str, AlertSettings], alert: Alert, *, run_log: Path | None = None
) -> int:
    """Queue ``alert`` for every target that wants it (its ``on`` names the event; its
    ``pipelines``, when set, name the alert's pipeline); the number queued. Never raises.
    ``run_log``: the run's ``run.log``, where a failed delivery is written as one line."""
    queued = 0
    for name, target in targets.items():
        if alert.event not in target.on:
            continue
        if target.pipelines is not None and alert.pipeline not in target.pipelines:
            continue
        if _DISPATCHER.put((name, target, alert, run_log)):
            queued += 1
        else:
            _failed(name, alert, f"dropped: {QUEUE_MAX} alerts already wait", run_log)
    return queued


def flush(timeout: float = FLUSH_S) -> bool:
    """Wait for the alerts queued so far to be sent (tests; the exit does it too)."""
    return _DISPATCHER.flush(timeout)


def _send(name: str, target: AlertSettings, alert: Alert, run_log: Path | None) -> None:
    body = json.dumps(alert.to_json(), default=str).encode()
    why = deliver(target, body)
    if why is not None:
        _failed(name, alert, why, run_log)


def _failed(name: str, alert: Alert, why: str, run_log: Path | None) -> None:
    """One line in the process log and, for a run's alert, in its run.log."""
    line = f"alerts.{name} {alert.event} not delivered: {why}"
    _log.warning("%s", line)
    if run_log is None:
        return
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
    try:
        run_log.parent.mkdir(parents=True, exist_ok=True)
        with run_log.open("a", encoding="utf-8") as out:
            out.write(f"{stamp} {line}\n")
    except OSError:  # a full disk: the process log has it
        pass
