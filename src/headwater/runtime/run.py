"""Execute a selection of a project's graph as one recorded run."""

from __future__ import annotations

import functools
import logging
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from headwater.engines import open_engine
from headwater.errors import HeadwaterError, ProjectError, RunInterrupted
from headwater.metastore import Metastore
from headwater.models import CompiledCache
from headwater.project import Project, select
from headwater.runtime.checks import preflight
from headwater.runtime.engine_support import refuse_unsupported
from headwater.runtime.executor import SUCCESS, Event, Executor, Step, StepState
from headwater.runtime.executors import Remote, open_remote
from headwater.runtime.executors import resolve as resolve_executor
from headwater.runtime.recorder import Recorder
from headwater.runtime.steps import StepLogs, step_for

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
    run_group: str | None = None,
    reason: str | None = None,
    executor: str | None = None,
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
    pipeline); other steps ignore it. ``reason``: why a trigger started the run (which
    files, which upstream run), recorded in its params as ``reason``. ``executor``
    overrides ``[project] executor`` for this run (runtime/executors: where the tasks
    declared ``warehouse=False`` run); a Dask scheduler it cannot reach stops the run
    (ConnectionError_, exit 3) before any step.

    ``run_group``: the outside run this run is one step of (an Airflow DAG run's
    ``DAG_ID/RUN_ID``: ``headwater export airflow``), recorded in its params as ``run_group``.

    A chosen asset that uses a feature the project's engine lacks (a partitioned model, a
    quarantine check, an export, ...: :mod:`headwater.runtime.engine_support`) is refused
    first, as ProjectError (exit 2, one line): no run recorded, no warehouse opened.

    Ctrl-C (or a KeyboardInterrupt carrying ``signum``, SIGTERM's as the CLI raises it)
    cancels the running steps, waits for them, records the run as ``interrupted`` and raises
    :class:`~headwater.errors.RunInterrupted` (a KeyboardInterrupt) with the run's id; a
    ``cancel`` event with ``by_request`` set (a cancel through the server's API) records its
    stopped steps ``cancelled (by request)`` rather than ``interrupted (Ctrl-C)``."""
    chosen = names if names is not None else select(project.graph, include, exclude)
    refuse_unsupported(project, chosen)  # a feature the engine lacks: one line, exit 2
    tz = _zone_name(project, pipeline)
    if interval is not None:  # refused before anything runs: one line, exit 2
        _check_interval(project, chosen, interval, tz)
    spec = resolve_executor(executor, project.settings.project.executor)
    queued, run_id = run_id is not None, run_id or new_run_id()
    started = time.monotonic()
    stragglers: list[str] = []
    store = Metastore.open(project.metastore_url)
    own_engine = engine is None
    interval_params = _interval_params(interval) if interval is not None else {}
    remote: Remote | None = None
    try:  # WarehouseBusy while another run holds the warehouse
        engine = engine if engine is not None else _open_warehouse(project)
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
            **({"run_group": run_group} if run_group else {}),
            **({"reason": reason} if reason else {}),
        }
        if not queued:
            store.start_run(
                run_id,
                project=project.name,
                selection=" ".join(include or []) or None,
                pipeline=pipeline,
                trigger=trigger,
                parent_run_id=parent_run_id,
                params=params,
            )
        elif not store.begin_run(run_id, params):  # a server's queued run, turned running
            raise HeadwaterError(f"run {run_id} is no longer queued (cancelled?)")
        remote = open_remote(spec, (project.graph[n] for n in chosen))
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
            tz=tz,
            remote=remote,
        )
        steps = _steps(project, chosen, make_step)
        recorder = Recorder(store, run_id, {s.name: s.kind for s in steps}, logger, on_event)
        runner = Executor(
            steps,
            threads=threads or project.settings.project.threads,
            on_event=recorder,
            cancel=cancel,
        )
        try:
            state = runner.run()
        finally:
            stragglers = runner.stragglers
            _close_run_files(recorder, logger, compiled)
        status = SUCCESS if all(s.status == SUCCESS for s in state.values()) else "failed"
        store.finish_run(run_id, status)
        outcome = {name: (s.status, s.error) for name, s in state.items()}
        _alert(project, pipeline, run_id, status, outcome, interval_params)
        return RunResult(run_id, status, state, time.monotonic() - started)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM turned into one by the CLI
        raise _interrupted(store, run_id, exc) from None
    except BaseException as exc:
        _stopped(project, pipeline, store, run_id, exc, interval_params)
        raise
    finally:
        if remote is not None:
            remote.close()
        _close(engine if own_engine else None, store, run_id, stragglers)


def _steps(project: Project, chosen: list[str], make_step: Callable[..., Step]) -> list[Step]:
    """``make_step`` of each chosen asset, with the chosen ones it reads as its deps."""
    chosen_set = set(chosen)
    return [
        make_step(
            project.graph[name],
            deps=tuple(d for d in project.graph[name].deps if d in chosen_set),
        )
        for name in chosen
    ]


def _open_warehouse(project: Project) -> Any:
    return open_engine(
        project.settings.project.engine,
        project.warehouse_location,
        memory_limit=project.settings.project.memory_limit,
        options=project.engine_options,  # read by engines that need them (spark)
    )


def _interrupted(store: Metastore, run_id: str, exc: KeyboardInterrupt) -> RunInterrupted:
    """Record the run ``interrupted`` (Ctrl-C, SIGTERM, a cancel by request) and return the
    :class:`RunInterrupted` to raise."""
    stop = RunInterrupted(
        run_id,
        signum=getattr(exc, "signum", signal.SIGINT),
        by_request=getattr(exc, "by_request", False),
    )
    store.finish_run(run_id, "interrupted", unfinished=stop.recorded)
    return stop


def _stopped(
    project: Project,
    pipeline: str | None,
    store: Metastore,
    run_id: str,
    exc: BaseException,
    interval_params: dict[str, Any],
) -> None:
    """Record a run that an error stopped (not a step's: those are the steps' own) failed,
    and alert it."""
    store.finish_run(run_id, "failed", unfinished=f"the run stopped: {type(exc).__name__}")
    failure: dict[str, tuple[str, str | None]] = {
        "(run)": ("failed", f"the run stopped: {type(exc).__name__}: {exc}")
    }
    _alert(project, pipeline, run_id, "failed", failure, interval_params)


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


def _close_run_files(recorder: Recorder, logger: StepLogs, compiled: CompiledCache) -> None:
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


def retry_run(project: Project, run_id: str, /, **kwargs: Any) -> RunResult | None:
    """Rerun the steps of ``run_id`` that did not succeed (failed, skipped, never started);
    None, and no new run, when every step of it succeeded. The new run records ``run_id``
    as its parent and keeps its full refresh; a check run is not retried (ProjectError:
    `headwater check` runs the checks again). ``run_id`` is positional: ``kwargs`` go to
    :func:`run`, a server's ``run_id`` (its queued retry) and ``cancel`` among them."""
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
