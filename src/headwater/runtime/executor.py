"""Run steps in dependency order on N threads, with retries, backoff and timeouts.

Contract:

- A step starts when all its dependencies succeeded; at most ``threads`` run at once.
- A failed attempt is retried ``retries`` times, waiting ``retry_delay * 2**(attempt-1)``
  seconds (capped at 60) between attempts; a lost or refused connection too, and no more
  (``retries = 0``: one attempt). Each ``retrying`` event carries the attempt, how many are
  allowed (``of``), the error and the wait.
- A ``finished`` event's ``first_started_at`` is when the step's first attempt started: a
  step's duration counts every attempt and the waits between them.
- An attempt running longer than ``timeout`` is cancelled (``cancel(thread_id)``, e.g. an
  engine interrupt) and counts as a failed attempt (status ``timed_out`` if it was the last).
- When a step finally fails, every step downstream of it becomes ``upstream_failed``; steps
  that do not depend on it still run (failures stay local).
- ``run()`` returns (or raises, when interrupted) only when every timed-out or interrupted
  attempt has returned too (it is cancelled again every second), or after ``drain_timeout``
  seconds: the caller then closes the resources the steps share (an engine closed under a
  running statement crashes the process). Attempts still running then are named in
  ``stragglers``; their resources must stay open.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from headwater.errors import HeadwaterError

MAX_BACKOFF = 60.0
_CANCEL_POLL = 0.1  # seconds between two looks at a cancel event
SUCCESS, FAILED, UPSTREAM_FAILED, TIMED_OUT = "success", "failed", "upstream_failed", "timed_out"


@dataclass(frozen=True)
class Step:
    name: str
    deps: tuple[str, ...]
    fn: Callable[[], Any]
    kind: str = "model"
    retries: int = 0
    retry_delay: float = 1.0
    timeout: float | None = None
    cancel: Callable[[int], None] | None = None


@dataclass
class StepState:
    status: str = "pending"
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    result: Any = None
    error: str | None = None


@dataclass(frozen=True)
class Event:
    """Something that happened to a step; ``kind`` is started, retrying or finished."""

    kind: str
    step: str
    attempt: int
    status: str
    at: float
    error: str | None = None
    result: Any = None
    delay: float = 0.0
    started_at: float | None = None  # this attempt's start (unix time)
    of: int = 1  # attempts allowed (retries + 1)
    first_started_at: float | None = None  # the first attempt's start (finished events)


@dataclass
class _Attempt:
    step: Step
    number: int
    started: float
    thread: threading.Thread | None = None
    done: bool = False
    outcome: tuple[bool, Any] | None = field(default=None)
    retryable: bool = True
    fail_status: str | None = None  # set by the error (e.g. check_failed)
    downstream_status: str = "upstream_failed"
    abandoned: bool = False  # timed out: its worker retires when (if) it returns


class _Pool:
    """N long-lived worker threads (each keeps its engine cursor across steps). A worker
    stuck in a timed-out attempt is replaced, and retires when the attempt returns."""

    def __init__(self, size: int, done: queue.Queue[_Attempt]) -> None:
        self.jobs: queue.Queue[_Attempt | None] = queue.Queue()
        self.done = done
        self.live = 0
        self.abandoned: list[_Attempt] = []
        for _ in range(size):
            self._spawn()

    def _spawn(self) -> None:
        self.live += 1
        threading.Thread(target=self._loop, name=f"hw-worker-{self.live}", daemon=True).start()

    def submit(self, attempt: _Attempt) -> None:
        self.jobs.put(attempt)

    def abandon(self, attempt: _Attempt, *, replace: bool) -> None:
        """Give up waiting for ``attempt``: its worker retires when (if) it returns, and
        ``replace`` spawns another so that N workers stay available."""
        attempt.abandoned = True
        self.abandoned.append(attempt)
        if replace:
            self._spawn()

    def close(self) -> None:
        for _ in range(self.live):
            self.jobs.put(None)

    def _loop(self) -> None:
        while True:
            attempt = self.jobs.get()
            if attempt is None:
                return
            attempt.thread = threading.current_thread()
            try:
                attempt.outcome = (True, attempt.step.fn())
            except BaseException as exc:  # reported, never raised into the pool
                attempt.outcome = (False, describe(exc))
                attempt.retryable = bool(getattr(exc, "retryable", True))
                attempt.fail_status = getattr(exc, "step_status", None)
                attempt.downstream_status = getattr(exc, "downstream_status", UPSTREAM_FAILED)
            attempt.done = True
            if attempt.abandoned:
                return  # a replacement worker took this one's place
            self.done.put(attempt)


def _cancel(att: _Attempt) -> None:
    if att.step.cancel and att.thread and att.thread.ident:
        with contextlib.suppress(Exception):  # cancelling is best effort
            att.step.cancel(att.thread.ident)


def describe(exc: BaseException) -> str:
    """One line for a user error; the traceback for a bug."""
    if isinstance(exc, HeadwaterError):
        return str(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    head = f"{type(exc).__name__}: {exc}{where}"
    return head + "\n" + "".join(traceback.format_exception(exc)).strip()


class Executor:
    """Execute ``steps`` (a DAG by ``deps``); ``on_event`` is called from the main thread."""

    def __init__(
        self,
        steps: list[Step],
        *,
        threads: int,
        on_event: Callable[[Event], None],
        drain_timeout: float = 30.0,
        cancel: threading.Event | None = None,
    ) -> None:
        self.steps = {s.name: s for s in steps}
        # set by another thread (a server stopping a run): acts as Ctrl-C in run()
        self.cancel = cancel
        self.threads = max(1, threads)
        self.on_event = on_event
        self.drain_timeout = drain_timeout
        self.stragglers: list[str] = []  # steps still running when run() returned
        self.state = {s.name: StepState() for s in steps}
        self._children: dict[str, list[str]] = {s.name: [] for s in steps}
        for s in steps:
            for d in s.deps:
                self._children[d].append(s.name)
        self._done: queue.Queue[_Attempt] = queue.Queue()

    def run(self) -> dict[str, StepState]:
        self._pool = _Pool(self.threads, self._done)
        self._running: dict[str, _Attempt] = {}
        try:
            return self._run()
        except BaseException:
            # interrupted (Ctrl-C, or an on_event that raised): stop what runs, so that the
            # caller may close what the steps share once the drain below has waited for them
            for att in self._running.values():
                self._pool.abandon(att, replace=False)  # no more steps start
                _cancel(att)
            raise
        finally:
            self._pool.close()
            self._drain()

    def _drain(self) -> None:
        """Wait for the abandoned attempts to return, cancelling them again every second:
        a cancel can land between two statements of a step and stop only the first."""
        deadline = time.monotonic() + self.drain_timeout
        for att in self._pool.abandoned:
            while not att.done and time.monotonic() < deadline:
                wait = min(1.0, max(0.0, deadline - time.monotonic()))
                if att.thread is not None:
                    att.thread.join(wait)
                else:  # not picked up by a worker yet
                    time.sleep(min(wait, 0.05))
                if not att.done:
                    _cancel(att)
        self.stragglers = [a.step.name for a in self._pool.abandoned if not a.done]

    def _run(self) -> dict[str, StepState]:
        waiting = {n: len(s.deps) for n, s in self.steps.items()}
        ready = [n for n, c in waiting.items() if c == 0]
        retry_at: dict[str, float] = {}
        running = self._running
        while ready or running or retry_at:
            now = time.monotonic()
            for name in [n for n, t in retry_at.items() if t <= now]:
                del retry_at[name]
                ready.append(name)
            while ready and len(running) < self.threads:
                name = ready.pop(0)
                running[name] = self._start(name)
            timeout = self._next_wakeup(running, retry_at)
            if self.cancel is not None:
                self._stop_if_cancelled()
                timeout = _CANCEL_POLL if timeout is None else min(timeout, _CANCEL_POLL)
            try:
                attempt = self._done.get(timeout=timeout)
            except queue.Empty:
                attempt = None
            if attempt is not None and running.get(attempt.step.name) is attempt:
                del running[attempt.step.name]
                ok, value = attempt.outcome or (False, "no outcome")
                self._settle(attempt, ok, value, attempt.fail_status, ready, waiting, retry_at)
            for name, att in list(running.items()):
                limit = att.step.timeout
                if limit is not None and time.monotonic() - att.started > limit:
                    del running[name]
                    self._pool.abandon(att, replace=True)
                    _cancel(att)
                    message = f"timed out after {limit:g} s (attempt {att.number})"
                    self._settle(att, False, message, TIMED_OUT, ready, waiting, retry_at)
        # a cancel that came while the last step was finishing still stops the run: the
        # caller was told the run is cancelled, so it must not be recorded a success
        self._stop_if_cancelled()
        return self.state

    def _stop_if_cancelled(self) -> None:
        """Raise ``KeyboardInterrupt`` (as Ctrl-C does) when the cancel event is set."""
        if self.cancel is None or not self.cancel.is_set():
            return
        stop = KeyboardInterrupt()
        stop.signum = getattr(self.cancel, "signum", 2)  # type: ignore[attr-defined]
        # a cancel asked through a server's API, not a signal: recorded as such
        stop.by_request = getattr(self.cancel, "by_request", False)  # type: ignore[attr-defined]
        raise stop

    def _start(self, name: str) -> _Attempt:
        st = self.state[name]
        st.attempts += 1
        st.status = "running"
        if st.started_at is None:
            st.started_at = time.time()
        attempt = _Attempt(self.steps[name], st.attempts, time.monotonic())
        self.on_event(Event("started", name, st.attempts, "running", time.time()))
        self._pool.submit(attempt)
        return attempt

    def _settle(
        self,
        att: _Attempt,
        ok: bool,
        value: Any,
        fail_status: str | None,
        ready: list[str],
        waiting: dict[str, int],
        retry_at: dict[str, float],
    ) -> None:
        name, st, step = att.step.name, self.state[att.step.name], att.step
        started = time.time() - (time.monotonic() - att.started)
        if ok:
            st.status, st.result, st.finished_at = SUCCESS, value, time.time()
            self.on_event(
                Event(
                    "finished",
                    name,
                    att.number,
                    SUCCESS,
                    time.time(),
                    result=value,
                    started_at=started,
                    first_started_at=st.started_at,
                )
            )
            for child in self._children[name]:
                waiting[child] -= 1
                if waiting[child] == 0 and self.state[child].status == "pending":
                    ready.append(child)
            return
        allowed = step.retries if att.retryable else 0
        if att.number <= allowed:
            delay = min(step.retry_delay * 2 ** (att.number - 1), MAX_BACKOFF)
            retry_at[name] = time.monotonic() + delay
            self.on_event(
                Event(
                    "retrying",
                    name,
                    att.number,
                    "failed",
                    time.time(),
                    error=str(value),
                    delay=delay,
                    started_at=started,
                    of=allowed + 1,
                )
            )
            return
        st.status, st.error, st.finished_at = fail_status or FAILED, str(value), time.time()
        self.on_event(
            Event(
                "finished",
                name,
                att.number,
                st.status,
                time.time(),
                error=str(value),
                started_at=started,
                of=allowed + 1,
                first_started_at=st.started_at,
            )
        )
        for down in self._downstream(name):
            ds = self.state[down]
            if ds.status == "pending":
                ds.status, ds.error = att.downstream_status, f"upstream {name} {st.status}"
                self.on_event(Event("finished", down, 0, ds.status, time.time(), error=ds.error))

    def _downstream(self, name: str) -> list[str]:
        seen: list[str] = []
        stack = list(self._children[name])
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.append(n)
                stack.extend(self._children[n])
        return seen

    def _next_wakeup(
        self, running: dict[str, _Attempt], retry_at: dict[str, float]
    ) -> float | None:
        now = time.monotonic()
        times = [t - now for t in retry_at.values()]
        times += [a.started + a.step.timeout - now for a in running.values() if a.step.timeout]
        if not times:
            return None if running else 0.0
        return max(0.0, min(times))
