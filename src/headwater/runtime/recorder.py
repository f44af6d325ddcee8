"""A run's record: each executor event shown at once, written to run.log and, in batches
from a background thread, to the metastore (the executor never waits for a commit)."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from headwater.config.secrets import redact_text
from headwater.engines.base import STATE_SCHEMA
from headwater.metastore import Metastore
from headwater.runtime.executor import SUCCESS, Event
from headwater.runtime.steps import RunLog, StepLogs

_log = logging.getLogger("headwater.run")

_LINGER_S = 0.1  # how stale `headwater runs` may be while a run goes on
_MAX_BATCH = 5000


class Recorder:
    """Forwards each executor event to the display at once, and records it in the metastore
    from a background thread, in batches (the scheduler never waits for a commit)."""

    def __init__(
        self,
        store: Metastore,
        run_id: str,
        kinds: dict[str, str],
        logs: StepLogs,
        forward: Callable[[Event], None] | None,
    ) -> None:
        self.store, self.run_id, self.kinds, self.logs = store, run_id, kinds, logs
        self.log_dir = str(logs.dir)
        self.run_log = RunLog(logs.dir)
        self.forward = forward
        self.queue: queue.Queue[Event | None] = queue.Queue()
        self.failure: BaseException | None = None
        self.rows: dict[str, dict[str, Any]] = {}  # each step's row as recorded so far
        self.closing = threading.Event()
        self.writer = threading.Thread(target=self._drain, name="hw-recorder", daemon=True)
        self.writer.start()

    def __call__(self, event: Event) -> None:
        self.queue.put(event)
        if event.kind == "retrying":
            # in the step's own log too, at once: before the next attempt's lines
            log = self.logs(event.step)
            log.warning("%s", _describe(event, redact_text(event.error or "")))
            self.logs.done(log)
        if self.forward is not None:
            self.forward(event)

    def close(self) -> None:
        """Write what is queued and stop; re-raise a failure of the writer."""
        self.queue.put(None)
        self.closing.set()
        self.writer.join()
        self.run_log.close()
        if self.failure is not None:
            raise self.failure

    def _drain(self) -> None:
        done = False
        while not done:
            batch = [self.queue.get()]
            # Let a batch gather: waking for every event costs a transaction per event and
            # takes the GIL from the workers; close() cuts the wait short.
            self.closing.wait(_LINGER_S)
            while len(batch) < _MAX_BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            done = None in batch
            events = [e for e in batch if e is not None]
            if not events or self.failure is not None:
                continue
            try:
                self._write(events)
            except BaseException as exc:  # surfaced by close()
                self.failure = exc

    def _write(self, events: list[Event]) -> None:
        """One transaction per batch; each touched step is written as a whole row."""
        touched: dict[str, dict[str, Any]] = {}
        attempts: list[dict[str, Any]] = []
        marks: list[tuple[str, str]] = []
        lines: list[tuple[float, str, str]] = []
        for event in events:
            at = datetime.fromtimestamp(event.at, UTC)
            error = redact_text(event.error) if event.error else None
            lines.append((event.at, event.step, _describe(event, error)))
            row = self.rows.setdefault(
                event.step,
                {
                    "run_id": self.run_id,
                    "step": event.step,
                    "kind": self.kinds.get(event.step, "model"),
                    "status": "pending",
                    "started_at": None,
                    "finished_at": None,
                    "attempts": 0,
                    "rows_in": None,
                    "rows_out": None,
                    "error": None,
                    "log_path": None,
                },
            )
            touched[event.step] = row
            if event.kind == "started":
                row.update(status="running", attempts=event.attempt)
                if event.attempt == 1:
                    row["started_at"] = at
                continue
            if event.attempt:
                attempts.append(
                    {
                        "run_id": self.run_id,
                        "step": event.step,
                        "attempt": event.attempt,
                        "status": event.status,
                        "error": error,
                        "finished_at": at,
                        "started_at": datetime.fromtimestamp(event.started_at or event.at, UTC),
                    }
                )
            if event.kind != "finished":
                continue
            result = event.result if isinstance(event.result, dict) else {}
            row.update(status=event.status, finished_at=at, error=error)
            for key in ("rows_in", "rows_out"):
                if result.get(key) is not None:
                    row[key] = result[key]
            if event.status == SUCCESS and result.get("cursor") is not None:
                marks.append((event.step, str(result["cursor"])))
        for step, row in touched.items():
            # a step that logged nothing has no file; once there it stays: one look a step
            # per batch, not one per event (a stat each, thousands a second in a wide run)
            log_path = os.path.join(self.log_dir, f"{step}.log")
            if row["log_path"] is None and os.path.exists(log_path):
                row["log_path"] = log_path
        self.run_log.write(lines)
        with self.store.batch():
            self.store.replace_steps(list(touched.values()), attempts)
            for step, value in marks:
                self.store.set_watermark(
                    step, value, location=f"warehouse:{STATE_SCHEMA}.state", run_id=self.run_id
                )


def _describe(event: Event, error: str | None) -> str:
    """One line of run.log for an event (``error`` redacted)."""
    if event.kind == "started":
        return f"started (attempt {event.attempt})"
    took = f" in {event.at - event.started_at:.3f}s" if event.started_at else ""
    first = f": {error.strip().splitlines()[0]}" if error and error.strip() else ""
    if event.kind == "retrying":
        return (
            f"attempt {event.attempt} of {event.of} failed{took}, "
            f"retrying in {event.delay:.1f}s{first}"
        )
    if event.first_started_at and event.attempt > 1:  # every attempt and wait counts
        took = f" in {event.at - event.first_started_at:.3f}s ({event.attempt} attempts)"
    result = event.result if isinstance(event.result, dict) else {}
    rows = " ".join(
        f"{key}={result[key]}"
        for key in ("rows_in", "rows_out", "rows_rejected", "quarantined")
        if result.get(key)
    )
    return f"{event.status}{took}" + (f" ({rows})" if rows else "") + first
