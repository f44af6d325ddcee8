"""Execute a selection of a project's graph as one recorded run."""

from __future__ import annotations

import functools
import logging
import os
import queue
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from headwater.config.secrets import redact_text
from headwater.engines import open_engine
from headwater.engines.base import STATE_SCHEMA
from headwater.errors import HeadwaterError, ProjectError, RunInterrupted
from headwater.metastore import Metastore
from headwater.models import CompiledCache
from headwater.project import Project, select
from headwater.runtime.checks import preflight
from headwater.runtime.executor import SUCCESS, Event, Executor, StepState
from headwater.runtime.steps import RunLog, StepLogs, step_for

_log = logging.getLogger("headwater.run")


@dataclass(frozen=True)
class RunResult:
    run_id: str
    status: str  # success | failed
    steps: dict[str, StepState]
    seconds: float

    def count(self, status: str) -> int:
        return sum(1 for s in self.steps.values() if s.status == status)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: the run's id, status and seconds, each step's status, attempts and
        error (its full record, rows included: ``headwater.api.show``)."""
        steps = {
            name: {"status": s.status, "attempts": s.attempts, "error": s.error}
            for name, s in self.steps.items()
        }
        out = {"run_id": self.run_id, "status": self.status, "seconds": self.seconds}
        return {**out, "steps": steps}


def new_run_id() -> str:
    """Sortable and unique: ``20261121T063400-1a2b3c``."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def run(
    project: Project,
    *,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    names: list[str] | None = None,
    threads: int | None = None,
    trigger: str = "cli",
    parent_run_id: str | None = None,
    on_event: Callable[[Event], None] | None = None,
    full_refresh: bool = False,
    engine: Any = None,
    run_id: str | None = None,
    cancel: threading.Event | None = None,
    pipeline: str | None = None,
    interval: tuple[datetime, datetime] | None = None,
) -> RunResult:
    """Run the selected steps (``names`` overrides the selection) and record the run.
    ``full_refresh``: sources reload from scratch and incremental models rebuild whole.

    A server passes its own open ``engine`` (used, never closed: the process keeps one
    warehouse connection; by default the run opens and closes its own), the ``run_id`` of
    the run it queued (turned running), a ``cancel`` event (set: stop as Ctrl-C does),
    the ``pipeline`` recorded with the run.

    ``interval``: the run's data interval ``[start, end)`` (aware), recorded in the run's
    params (``interval_start``, ``interval_end``, ISO 8601 UTC): each partitioned model
    builds only it, in whole grain units of the pipeline's ``timezone`` (UTC without a
    pipeline); other steps ignore it.

    Ctrl-C (or a KeyboardInterrupt carrying ``signum``, SIGTERM's as the CLI raises it)
    cancels the running steps, waits for them, records the run as ``interrupted`` and raises
    :class:`~headwater.errors.RunInterrupted` (a KeyboardInterrupt) with the run's id; a
    ``cancel`` event with ``by_request`` set (a cancel through the server's API) records its
    stopped steps ``cancelled (by request)`` rather than ``interrupted (Ctrl-C)``."""
    chosen = names if names is not None else select(project.graph, include, exclude)
    if interval is not None:  # refused before anything runs: one line, exit 2
        _check_interval(project, chosen, interval, _zone_name(project, pipeline))
    queued, run_id = run_id is not None, run_id or new_run_id()
    started = time.monotonic()
    stragglers: list[str] = []
    store = Metastore.open(project.metastore_url)
    own_engine = engine is None
    interval_params = _interval_params(interval) if interval is not None else {}
    try:  # WarehouseBusy while another run holds the warehouse
        if own_engine:
            engine = open_engine(
                project.settings.project.engine,
                project.warehouse_path,
                memory_limit=project.settings.project.memory_limit,
            )
    except BaseException:
        store.close()
        raise
    try:
        store.mark_abandoned()
        params = {
            "steps": chosen,
            "threads": threads or project.settings.project.threads,
            **({"full_refresh": True} if full_refresh else {}),
            **interval_params,
        }
        if queued:
            if not store.begin_run(run_id, params):
                raise HeadwaterError(f"run {run_id} is no longer queued (cancelled?)")
        else:
            store.start_run(
                run_id,
                project=project.name,
                selection=" ".join(include or []) or None,
                pipeline=pipeline,
                trigger=trigger,
                parent_run_id=parent_run_id,
                params=params,
            )
        _prepare_warehouse(project, chosen, engine)
        logger = StepLogs(project.logs_dir / run_id)
        compiled = CompiledCache(project.state_dir / "cache" / "compiled.json")
        make_step = functools.partial(
            step_for,
            project=project,
            engine=engine,
            run_id=run_id,
            logger=logger,
            store=store,
            history=_row_count_history(project, chosen, store),
            compiled=compiled,
            full_refresh=full_refresh,
            interval=interval,
            tz=_zone_name(project, pipeline),
        )
        chosen_set = set(chosen)
        steps = [
            make_step(
                project.graph[name],
                deps=tuple(d for d in project.graph[name].deps if d in chosen_set),
            )
            for name in chosen
        ]
        recorder = _Recorder(store, run_id, {s.name: s.kind for s in steps}, logger, on_event)
        executor = Executor(
            steps,
            threads=threads or project.settings.project.threads,
            on_event=recorder,
            cancel=cancel,
        )
        try:
            state = executor.run()
        finally:
            stragglers = executor.stragglers
            _close_run_files(recorder, logger, compiled)
        status = SUCCESS if all(s.status == SUCCESS for s in state.values()) else "failed"
        store.finish_run(run_id, status)
        outcome = {name: (s.status, s.error) for name, s in state.items()}
        _alert(project, pipeline, run_id, status, outcome, interval_params)
        return RunResult(run_id, status, state, time.monotonic() - started)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM turned into one by the CLI
        stop = RunInterrupted(
            run_id,
            signum=getattr(exc, "signum", signal.SIGINT),
            by_request=getattr(exc, "by_request", False),
        )
        store.finish_run(run_id, "interrupted", unfinished=stop.recorded)
        raise stop from None
    except BaseException as exc:
        store.finish_run(run_id, "failed", unfinished=f"the run stopped: {type(exc).__name__}")
        failure: dict[str, tuple[str, str | None]] = {
            "(run)": ("failed", f"the run stopped: {type(exc).__name__}: {exc}")
        }
        _alert(project, pipeline, run_id, "failed", failure, interval_params)
        raise
    finally:
        _close(engine if own_engine else None, store, run_id, stragglers)


def _alert(
    project: Project,
    pipeline: str | None,
    run_id: str,
    status: str,
    steps: dict[str, tuple[str, str | None]],
    params: dict[str, Any] | None,
) -> None:
    """Queue the run's alerts (``[alerts]``; none for a run that succeeded): returns at once,
    a background thread sends them (:mod:`headwater.alerts`)."""
    targets = project.settings.alerts
    if not targets or status != "failed":
        return
    from headwater.alerts import notify, run_alerts

    run_log = project.logs_dir / run_id / "run.log"
    for alert in run_alerts(project.name, pipeline, run_id, status, steps, params):
        notify(targets, alert, run_log=run_log)


def _interval_params(interval: tuple[datetime, datetime]) -> dict[str, str]:
    """The interval as recorded in the run's params (and read back by retry)."""
    start, end = (at.astimezone(UTC).isoformat() for at in interval)
    return {"interval_start": start, "interval_end": end}


def _check_interval(
    project: Project, chosen: list[str], interval: tuple[datetime, datetime], tz: str
) -> None:
    """ProjectError when a chosen partitioned model cannot build ``interval`` (settings
    that do not work, an interval not on its grain)."""
    from headwater.models.partitions import check_aligned, check_partitioning, zone_of

    for name in chosen:
        found = check_partitioning(project.graph[name])
        if found is not None:
            check_aligned(project.graph[name], interval, found[1], zone_of(tz))


def _zone_name(project: Project, pipeline: str | None) -> str:
    """The zone grain units are counted in: the pipeline's ``timezone``, else UTC."""
    pipe = project.settings.pipelines.get(pipeline) if pipeline else None
    return pipe.timezone if pipe is not None else "UTC"


def _prepare_warehouse(project: Project, chosen: list[str], engine: Any) -> None:
    """The schemas the steps write to, and the checks' columns (a check on a missing column
    fails before any load)."""
    schemas = {project.graph[n].schema for n in chosen if project.graph[n].schema}
    if any(c.quarantines for n in chosen for c in project.graph[n].checks):
        schemas.add("quarantine")  # created up front: parallel loads must not race on it
    engine.ensure_schemas({s for s in schemas if s})
    preflight(project, chosen, engine)


def _row_count_history(project: Project, chosen: list[str], store: Metastore) -> Any:
    """The row counts of earlier builds, when a chosen step has a row_count_anomaly check."""
    if not any(c.type == "row_count_anomaly" for n in chosen for c in project.graph[n].checks):
        return None
    from headwater.quality.history import row_count_history

    return row_count_history(store.engine)


def _close_run_files(recorder: _Recorder, logger: StepLogs, compiled: CompiledCache) -> None:
    """Every event recorded before the run is marked finished; then the log files a full
    disk refused are named, and the compiled SQL is kept for the next run."""
    try:
        recorder.close()
    finally:
        _report_unwritable({**logger.unwritable, recorder.run_log.path: recorder.run_log.failure})
        compiled.save()


def _close(engine: Any, store: Metastore, run_id: str, stragglers: list[str]) -> None:
    if stragglers:
        # closing the engine under a running statement crashes the process: it stays
        # open (and the steps' statements run on) until the process exits
        _log.warning(
            "run %s: %s still running (timed out or interrupted); the warehouse stays open",
            run_id,
            ", ".join(stragglers),
        )
    elif engine is not None:  # None: the caller's engine, closed by the caller
        engine.close()
    store.close()


def _report_unwritable(files: dict[Path, OSError | None]) -> None:
    """One line per log file a full disk refused: the run's record (the metastore) and the
    steps' statuses stand, only the file is short of its last lines."""
    for path, exc in files.items():
        if exc is not None:
            _log.error("could not write %s: %s", path, exc.strerror or exc)


def retry_run(project: Project, run_id: str, **kwargs: Any) -> RunResult | None:
    """Rerun the steps of ``run_id`` that did not succeed (failed, skipped, never started);
    None, and no new run, when every step of it succeeded. The new run records ``run_id``
    as its parent and keeps its full refresh; a check run is not retried (ProjectError:
    `headwater check` runs the checks again)."""
    store = Metastore.open(project.metastore_url)
    try:
        store.mark_abandoned()
        record = store.get_run(run_id)
        if record is None:
            raise HeadwaterError(f"no run {run_id!r} (see `headwater runs`)")
        if record.kind == "check":
            raise ProjectError(
                f"run {record.run_id} is a check run: rerun its checks with `headwater check`"
            )
        done = {s.step for s in store.step_runs(record.run_id) if s.status == SUCCESS}
    finally:
        store.close()
    steps = record.params.get("steps", [])
    planned = [n for n in steps if n in project.graph] if isinstance(steps, list) else []
    todo = project.graph.order(n for n in planned if n not in done)
    if not todo:
        return None
    refresh = bool(record.params.get("full_refresh"))
    bounds = (record.params.get("interval_start"), record.params.get("interval_end"))
    return run(
        project,
        names=todo,
        trigger="retry",
        parent_run_id=record.run_id,
        full_refresh=refresh,
        pipeline=record.pipeline,
        # the same data interval: a partitioned model rebuilds what the run was to build
        interval=(
            (datetime.fromisoformat(bounds[0]), datetime.fromisoformat(bounds[1]))
            if isinstance(bounds[0], str) and isinstance(bounds[1], str)
            else None
        ),
        **kwargs,
    )


_LINGER_S = 0.1  # how stale `headwater runs` may be while a run goes on
_MAX_BATCH = 5000


class _Recorder:
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
            log_path = os.path.join(self.log_dir, f"{event.step}.log")
            if os.path.exists(log_path):  # a step that logged nothing has no file
                row["log_path"] = log_path
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
