"""Turn graph nodes into executor steps: which layer does the work for each kind."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from headwater.errors import HeadwaterError
from headwater.metastore import Metastore
from headwater.models import CompiledCache, run_model
from headwater.models.partitions import (
    Bounds,
    check_aligned,
    check_partitioning,
    grain_units,
    zone_of,
)
from headwater.project import Project
from headwater.project.asset import Asset
from headwater.runtime.checks import AssetChecks
from headwater.runtime.code_errors import user_code_error
from headwater.runtime.executor import Step
from headwater.runtime.executors import Remote, takes, task_call
from headwater.tasks import run_task

if TYPE_CHECKING:
    from headwater.engines.base import LoadResult


def step_for(
    asset: Asset,
    *,
    project: Project,
    engine: Any,
    run_id: str,
    deps: tuple[str, ...],
    logger: StepLogs,
    store: Metastore,
    history: Callable[[str], Sequence[int]] | None = None,
    compiled: CompiledCache | None = None,
    full_refresh: bool = False,
    interval: Bounds | None = None,
    tz: str = "UTC",
    remote: Remote | None = None,
) -> Step:
    """The step that builds ``asset``; ``full_refresh`` rebuilds it from scratch (a
    source's table and state, an incremental model's table). A partitioned model builds
    only the data ``interval`` (grain units in zone ``tz``) when there is one, and records
    each unit ``built`` or ``failed`` in the metastore as the step ends. A step that the
    project's ``remote`` executor takes (runtime/executors/placement.py) runs there."""
    cfg = project.settings.project
    away = remote if remote is not None and takes(remote.spec, asset) else None

    def work() -> dict[str, Any]:
        log = logger(asset.name)
        # only a source's rows carry a load id (a model's are rebuilt, not loaded)
        load_id = engine.new_load_id() if asset.kind == "source" else None
        checks = AssetChecks(asset, run_id=run_id, load_id=load_id, history=history)
        try:
            if load_id is not None:  # a source
                # sources (and pyarrow) load only for runs that extract
                from headwater.sources import run_source

                result: LoadResult = run_source(
                    asset,
                    engine=engine,
                    settings=project.settings,
                    root=project.root,
                    load_id=load_id,
                    run_id=run_id,
                    log=log,
                    screen=checks.screen,
                    audit=checks.audit,
                    full_refresh=full_refresh,
                    interval=interval,
                )
                return {
                    "rows_in": result.rows_read,
                    "rows_superseded": result.rows_superseded,
                    "schema_changes": [c.describe(asset.name) for c in result.schema_changes],
                    "rows_out": result.rows_written,
                    "rows_rejected": result.rows_rejected,
                    "cursor": result.cursor_max,
                    **checks.summary(),
                }
            if asset.kind == "sync":  # reverse ETL: the model merged into a database
                from headwater.syncs import run_sync

                done = run_sync(
                    asset, engine=engine, settings=project.settings, run_id=run_id, log=log
                )
                return {**done, **checks.summary()}
            if asset.kind == "export":  # the model written to files, then published
                from headwater.exports import run_export

                return run_export(
                    asset, engine=engine, settings=project.settings, graph=project.graph,
                    root=project.root, run_id=run_id, log=log, interval=interval, tz=tz,
                )  # fmt: skip
            if asset.kind == "model":
                with _partitions_recorded(asset, interval, tz, store, run_id):
                    count = run_model(
                        asset,
                        engine=engine,
                        graph=project.graph,
                        log=log,
                        audit=checks.audit,
                        compiled=compiled,
                        full_refresh=full_refresh,
                        interval=interval,
                        tz=tz,
                    )
                return {"rows_out": count, **checks.summary()}
            if away is not None:  # in a child process or on a Dask worker
                path = logger.path(asset.name)
                away.call(task_call(asset, root=project.root, run_id=run_id, log_path=path), log)
                return {}
            run_task(asset, engine=engine, root=project.root, run_id=run_id, log=log)
            return {}
        except Exception as exc:
            results = getattr(exc, "results", None)  # a quarantine limit carries its results
            if results and not checks.results:
                checks.results = list(results)
            if asset.function is not None and not isinstance(exc, HeadwaterError):
                # the project's own code raised: its whole traceback here, one line elsewhere
                log.error("%s raised", asset.function.__name__, exc_info=exc)
                raise user_code_error(exc, asset, project.root) from exc
            log.error("%s", exc)
            raise
        finally:
            checks.record(store)
            logger.done(log)

    return Step(
        name=asset.name,
        deps=deps,
        fn=work,
        kind=asset.kind,
        retries=asset.retries if asset.retries is not None else cfg.retries,
        retry_delay=asset.retry_delay if asset.retry_delay is not None else cfg.retry_delay,
        timeout=asset.timeout if asset.timeout is not None else cfg.timeout,
        # a lost connection is retried as configured, no more: `retries = 0` means one
        # attempt (a server that never answers must not cost four connect timeouts)
        cancel=away.cancel if away else lambda thread_id: _cancel(engine, asset, thread_id),
    )


@contextlib.contextmanager
def _partitions_recorded(
    asset: Asset, interval: Bounds | None, tz: str, store: Metastore, run_id: str
) -> Iterator[None]:
    """Record the grain units of ``interval`` of a partitioned model ``built`` when the body
    succeeds, ``failed`` when it raises (an interval the grain refuses is recorded nowhere)."""
    found = check_partitioning(asset) if interval is not None else None
    if found is None or interval is None:
        yield
        return
    grain = found[1]
    check_aligned(asset, interval, grain, zone_of(tz))
    units = list(grain_units(*interval, grain, zone_of(tz)))
    try:
        yield
    except Exception:  # a Ctrl-C leaves the units as they were (the build rolled back)
        store.record_partitions(asset.name, units, "failed", run_id)
        raise
    store.record_partitions(asset.name, units, "built", run_id)


def _cancel(engine: Any, asset: Asset, thread_id: int) -> None:
    """Stop what ``thread_id`` runs for ``asset``: the engine's statement and, for a
    source, the connector's read (the engine may be waiting for its next batch)."""
    interrupt = getattr(engine, "interrupt", None)
    if interrupt is not None:
        interrupt(thread_id)
    if asset.kind == "source":
        from headwater.sources import cancel_read

        cancel_read(thread_id)


class StepLogs:
    """Per-step log files ``logs_dir/<step>.log``, written as the step logs (``tail -f`` works).

    One handler serves every step of a run, and a step's file is created by its first record:
    a step that logs nothing (a SQL model that builds cleanly; its status, timings and row
    counts are in the metastore) costs no file. Loggers are standalone, not registered with
    ``logging``'s manager: registering thousands (and setLevel, which clears every logger's
    cache) cost O(steps^2) per run.
    """

    def __init__(self, logs_dir: Path) -> None:
        self.dir = logs_dir
        self._files = _StepFiles()
        self._files.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))

    def path(self, step: str) -> Path:
        return self.dir / f"{step}.log"

    def __call__(self, step: str) -> logging.Logger:
        log = logging.Logger(f"headwater.step.{self.dir.name}.{step}", logging.INFO)
        log.propagate = False
        self._files.paths[log.name] = self.path(step)
        log.handlers.append(self._files)  # addHandler takes logging's global lock each time
        return log

    def done(self, log: logging.Logger) -> None:
        """Close the step's file, if it has one (a retry appends to it)."""
        self._files.close_file(log.name)

    @property
    def unwritable(self) -> dict[Path, OSError]:
        """The step logs that could not be written (a full disk), with the first error."""
        return dict(self._files.failed)


class RunLog:
    """``logs_dir/run.log``: one line per step event of the run (started, retrying, finished
    with status, duration, rows and the first line of the error), so every step of every run
    leaves a trace on disk even when it logged nothing itself. Written by the recorder's
    background thread in batches; error text must already be redacted."""

    def __init__(self, logs_dir: Path) -> None:
        self.path = logs_dir / "run.log"
        self._stream: TextIO | None = None
        self.failure: OSError | None = None  # why the file could not be written (disk full)

    def write(self, lines: Sequence[tuple[float, str, str]]) -> None:
        """Append ``(unix time, step, text)`` lines. A write the disk refuses is remembered
        in :attr:`failure` and the log stops there: the run goes on (its record is in the
        metastore) and reports the failure once."""
        if not lines or self.failure is not None:
            return
        try:
            if self._stream is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._stream = self.path.open("a", encoding="utf-8")
            for at, step, text in lines:
                stamp = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
                self._stream.write(f"{stamp} {step} {text}\n")
            self._stream.flush()
        except OSError as exc:
            self.failure = exc
            self.close()

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except OSError as exc:  # the last buffered lines found the disk full
                self.failure = self.failure or exc


class _StepFiles(logging.Handler):
    """Writes each record to its logger's file, opened on the first record."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: dict[str, Path] = {}
        self.streams: dict[str, TextIO] = {}
        self.failed: dict[Path, OSError] = {}  # files a write failed on (a full disk)

    def emit(self, record: logging.LogRecord) -> None:  # called with self.lock held
        try:
            stream = self.streams.get(record.name)
            if stream is None:
                path = self.paths[record.name]
                path.parent.mkdir(parents=True, exist_ok=True)
                stream = self.streams[record.name] = path.open("a", encoding="utf-8")
            stream.write(self.format(record) + "\n")
            stream.flush()
        except OSError as exc:
            # a full disk: the step's own error must stand, not this one, and logging's
            # handleError would print a traceback per record; the run reports it once
            self.failed.setdefault(self.paths[record.name], exc)
            self._drop(record.name)
        except Exception:
            self.handleError(record)

    def _drop(self, name: str) -> None:
        """Forget ``name``'s stream, closing it quietly (called with self.lock held)."""
        stream = self.streams.pop(name, None)
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()

    def close_file(self, name: str) -> None:
        self.acquire()
        try:
            stream = self.streams.pop(name, None)
        finally:
            self.release()
        if stream is not None:
            try:
                stream.close()
            except OSError as exc:  # its last lines found the disk full
                self.failed.setdefault(self.paths[name], exc)
