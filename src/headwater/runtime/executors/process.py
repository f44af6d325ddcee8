"""``executor = "process"``: each task the executor takes runs in a child process of its own.

Isolation: a segfault, an ``os._exit`` or a leak in a task ends its child, never the run or
the server; the step fails naming the exit code or the signal. Children come from
multiprocessing's ``forkserver`` (``spawn`` where there is none): never ``fork``, since the
run's process has live threads and an open DuckDB warehouse. The fork server is started
once per process, with Headwater's task runner imported, so a step costs a fork, not a new
interpreter.

Each child writes the step's log file itself (its file descriptors 1 and 2 too, so output
of C code and a crash's traceback land there), and sends one :class:`Outcome` back on a
pipe. The run's thread waiting for it is the attempt: the executor's timeout and Ctrl-C call
:meth:`ProcessExecutor.cancel` with that thread's id, which kills the child (SIGKILL).
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import multiprocessing
import os
import signal
import sys
import threading
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from pathlib import Path

from headwater.errors import HeadwaterError
from headwater.runtime.code_errors import UserCodeError
from headwater.runtime.executors.call import Outcome, TaskCall, perform

_POLL = 0.1  # seconds between two looks at a child that has not answered yet
_RUNNER = "headwater.runtime.executors.call"  # what the fork server imports once
_context_lock = threading.Lock()
_context: BaseContext | None = None


class ProcessExecutor:
    """Runs each call in a new child process; :meth:`cancel` kills a thread's child."""

    spec = "process"

    def __init__(self) -> None:
        self._ctx = _start_context()
        self._children: dict[int, BaseProcess] = {}
        self._cancelled: set[int] = set()  # threads whose attempt was cancelled
        self._lock = threading.Lock()

    def call(self, call: TaskCall, log: logging.Logger) -> None:
        """Run ``call`` in a child and wait for it; raise (one line) when it failed."""
        receive, send = self._ctx.Pipe(duplex=False)
        child = self._ctx.Process(  # type: ignore[attr-defined]
            target=_child_main, args=(call, send), name=f"headwater {call.asset.name}"
        )
        child.daemon = True  # the run's process exiting takes its children along
        thread = threading.get_ident()
        with self._lock:
            self._children[thread] = child
            self._cancelled.discard(thread)
        try:
            child.start()
            send.close()  # the child holds the only writer: EOF when it dies
            with self._lock:  # a cancel that came before the child had a PID
                if thread in self._cancelled:
                    child.kill()
            outcome = _wait(child, receive)
        finally:
            with self._lock:
                self._children.pop(thread, None)
                self._cancelled.discard(thread)
            receive.close()
            _reap(child)
            _drop_if_empty(call.log_path)
        if outcome is None:
            raise HeadwaterError(f"{call.asset.location}: task {call.asset.name}: {_death(child)}")
        if outcome.error is not None:
            failure = UserCodeError(outcome.error)
            failure.retryable = outcome.retryable  # type: ignore[attr-defined]
            raise failure

    def cancel(self, thread_id: int) -> None:
        """Kill the child that ``thread_id`` waits for (a timeout, Ctrl-C, a cancel)."""
        with self._lock:
            child = self._children.get(thread_id)
            self._cancelled.add(thread_id)
            if child is not None and child.pid is not None:
                child.kill()

    def close(self) -> None:
        """Nothing to release: each child is reaped by its own call."""


def _start_context() -> BaseContext:
    """The fork server's context (one per process), or spawn's where there is none."""
    global _context
    with _context_lock:
        if _context is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                ctx = multiprocessing.get_context("forkserver")
                # "__main__" too: else each child would import the parent's main script
                # again (multiprocessing's preparation), seconds for a script that
                # imports much; the fork server imports it once (as __mp_main__)
                ctx.set_forkserver_preload([_RUNNER, "__main__"])
                # started now, not by the first step: its start-up (an interpreter
                # importing Headwater) must not count against that step's timeout
                forkserver.ensure_running()
                _context = ctx
            else:
                _context = multiprocessing.get_context("spawn")
        return _context


def _wait(child: BaseProcess, receive: Connection) -> Outcome | None:
    """The child's outcome, or None when it died without sending one."""
    while True:
        if receive.poll(_POLL):
            try:
                outcome: Outcome = receive.recv()
            except (EOFError, OSError):  # it died: nothing (whole) was sent
                return None
            return outcome
        if not child.is_alive() and not receive.poll(0):
            return None


def _reap(child: BaseProcess) -> None:
    """Wait for the child to exit (it has sent its outcome, or died); kill a straggler."""
    if child.pid is None:  # never started
        return
    child.join(5.0)
    if child.is_alive():
        child.kill()
        child.join()


def _drop_if_empty(path: Path | None) -> None:
    """The child opened the step's log for its output; a step that logged nothing keeps
    no file (as on the run's threads), so that no empty log is named in its record."""
    if path is not None:
        with contextlib.suppress(OSError):
            if path.stat().st_size == 0:
                path.unlink()


def _death(child: BaseProcess) -> str:
    """Why a child ended without an outcome, in words."""
    code = child.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"its process was killed by {name} (see its step log)"
    return f"its process exited with code {code} before the task returned (see its step log)"


def _child_main(call: TaskCall, send: Connection) -> None:
    """In the child: route output to the step's log, run the task, send the outcome."""
    if call.log_path is not None:
        _output_to(call.log_path)
    try:
        outcome = perform(call)
    except BaseException as exc:  # perform reports the task's errors: this is Headwater's
        outcome = Outcome(f"task {call.asset.name}: {type(exc).__name__}: {exc}")
    send.send(outcome)
    send.close()


def _output_to(path: Path) -> None:
    """Point file descriptors 1 and 2 at the step's log (output of C code, a crash's
    traceback through faulthandler), so nothing lands on the run's terminal."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError:  # a full disk or a removed folder: the task still runs
        return
    for target in (1, 2):
        os.dup2(fd, target)
    os.close(fd)
    faulthandler.enable(file=sys.__stderr__ or sys.stderr)
