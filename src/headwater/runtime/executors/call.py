"""One task call that travels to another process, and what comes back.

How the code reaches the other process: a :class:`TaskCall` carries the task's *file* and
name, never its function; :func:`perform`, in the child process or on the Dask worker,
imports that file again (:func:`headwater.project.python_assets.load_task`) and calls the
task. So the other process needs Headwater installed and the project folder at the same path
(a child process always has it; a Dask worker on another machine needs a shared file
system, which a task's ``ctx.path()`` files need anyway). An edited task file is picked up
by the next call: nothing is cached on the worker.

:func:`perform` never raises: the error comes back in the :class:`Outcome` as the one line
the run reports (``file:line: Type: message`` at the project's own frame, as for a task on
the run's threads), its traceback in the step's log.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from headwater.errors import HeadwaterError
from headwater.project.asset import Asset
from headwater.project.python_assets import load_task
from headwater.runtime.code_errors import user_code_error
from headwater.tasks import run_task

LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"  # as the run's step logs (steps.py)
Record = tuple[float, int, str]  # (unix time, level, message) of one buffered log line


@dataclass(frozen=True)
class TaskCall:
    """What another process needs to run one task: no function, no engine, no open file."""

    asset: Asset  # its function stripped (pickled by reference, it would not import)
    python_dir: Path  # the project's python/ folder (the module's package root)
    root: Path
    run_id: str
    # the step's log file, appended to directly (a child process on this machine); None:
    # the lines are buffered and come back in the outcome (a Dask worker)
    log_path: Path | None = None


@dataclass(frozen=True)
class Outcome:
    """What a call did: ``error`` is None on success, else the one line to report."""

    error: str | None = None
    retryable: bool = True
    records: tuple[Record, ...] = ()  # the step's log lines, when not written directly


def task_call(asset: Asset, *, root: Path, run_id: str, log_path: Path | None) -> TaskCall:
    """The call of ``asset`` (a task defined under ``root/python``) for another process."""
    return TaskCall(
        dataclasses.replace(asset, function=None), root / "python", root, run_id, log_path
    )


def perform(call: TaskCall) -> Outcome:
    """Import the task and run it with a context without warehouse; its logging and its
    ``print``s go to the step's log (``call.log_path``) or come back buffered."""
    buffer = _Buffer() if call.log_path is None else None
    handler = buffer or _file_handler(call.log_path)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    log = logging.Logger(f"headwater.step.{call.run_id}.{call.asset.name}", logging.INFO)
    log.propagate = False
    log.addHandler(handler)
    error: str | None = None
    retryable = True
    try:
        fn = load_task(_module(call), call.python_dir, call.asset.name)
        asset = dataclasses.replace(call.asset, function=fn)
        with _printed_to(log):
            run_task(asset, engine=None, root=call.root, run_id=call.run_id, log=log)
    except Exception as exc:
        retryable = bool(getattr(exc, "retryable", True))
        if isinstance(exc, HeadwaterError):
            error = str(exc)
            log.error("%s", exc)
        else:  # the project's code raised: its traceback in the log, one line reported
            log.error("%s raised", call.asset.name, exc_info=exc)
            error = str(user_code_error(exc, call.asset, call.root))
    finally:
        handler.close()
    records = tuple(buffer.records) if buffer is not None else ()
    return Outcome(error, retryable, records)


def replay(records: tuple[Record, ...], log: logging.Logger) -> None:
    """Write buffered lines to the step's ``log`` with the times they were logged at."""
    for created, level, message in records:
        record = log.makeRecord(log.name, level, "(task)", 0, message, (), None)
        record.created, record.msecs = created, (created % 1) * 1000
        log.handle(record)


def _file_handler(path: Path | None) -> logging.Handler:
    """Appends to the step's log, opened by the first line (no line, no file)."""
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    return logging.FileHandler(path, encoding="utf-8", delay=True)


def _module(call: TaskCall) -> Path:
    if call.asset.path is None:  # a task always has its file: the loader sets it
        raise HeadwaterError(f"task {call.asset.name}: its file is unknown")
    return call.asset.path


class _Buffer(logging.Handler):
    """Keeps the records in memory, to be sent back with the outcome."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[Record] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.records.append((record.created, record.levelno, text))


class _Lines(io.TextIOBase):
    """A text stream that logs each complete line it is given (a task's ``print``)."""

    def __init__(self, log: logging.Logger, level: int) -> None:
        self.log, self.level, self.pending = log, level, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            self.log.log(self.level, "%s", line)
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self.log.log(self.level, "%s", self.pending)
            self.pending = ""


@contextlib.contextmanager
def _printed_to(log: logging.Logger) -> Iterator[None]:
    """``print`` (stdout: INFO) and stderr (WARNING) become lines of the step's log. Process
    wide: on a Dask worker running several tasks at once, lines may land in another's log."""
    out, err = _Lines(log, logging.INFO), _Lines(log, logging.WARNING)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield
    finally:
        out.flush()
        err.flush()
