"""``executor = "dask://HOST:PORT"``: tasks the executor takes run on a Dask cluster's workers.

One :class:`distributed.Client` per run, connected when the run starts (``distributed`` is
imported only then: the ``dask`` extra). A scheduler that cannot be reached is one line
naming the address, exit 3, before any step runs. Each attempt is one future
(``Client.submit`` of :func:`~headwater.runtime.executors.call.perform`, Dask's own retries
off: the run's executor retries, as for any step); the run's thread waits for it, and a
timeout or Ctrl-C cancels it (:meth:`DaskExecutor.cancel`). Dask cannot stop a task already
running on a worker: the worker finishes it and its result is dropped.

The task's code reaches the worker as its file and name (:mod:`.call`): workers need
Headwater installed and the project folder at the same path. The step's log lines travel
back with the outcome and are written to the step's log when the attempt ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import secrets
import threading
from typing import Any

from headwater.errors import ConnectionError_, HeadwaterError, ProjectError
from headwater.runtime.code_errors import UserCodeError
from headwater.runtime.executors.call import Outcome, TaskCall, perform, replay

CONNECT_TIMEOUT = 5.0  # seconds to reach the scheduler before the run gives up (exit 3)
_POLL = 0.2  # seconds between two looks at a future (a cancel is noticed this fast)


class DaskExecutor:
    """Submits each call to the scheduler at ``spec`` (``dask://host:port``)."""

    def __init__(self, spec: str, *, connect_timeout: float | None = None) -> None:
        self.spec = spec
        self.address = "tcp://" + spec.removeprefix("dask://")
        self._client = _connect(spec, self.address, connect_timeout or CONNECT_TIMEOUT)
        self._futures: dict[int, Any] = {}
        self._cancelled: set[int] = set()
        self._lock = threading.Lock()

    def call(self, call: TaskCall, log: logging.Logger) -> None:
        """Run ``call`` on a worker and wait; raise (one line) when it failed. The worker's
        log lines come back with the outcome (its disk may not be this one)."""
        call = dataclasses.replace(call, log_path=None)
        thread = threading.get_ident()
        key = f"headwater-{call.asset.name}-{call.run_id}-{secrets.token_hex(4)}"
        future = self._client.submit(perform, call, key=key, pure=False, retries=0)
        with self._lock:
            self._futures[thread] = future
            self._cancelled.discard(thread)
        try:
            outcome = self._wait(future, thread, call)
        finally:
            with self._lock:
                self._futures.pop(thread, None)
                self._cancelled.discard(thread)
        replay(outcome.records, log)
        if outcome.error is not None:
            failure = UserCodeError(outcome.error)
            failure.retryable = outcome.retryable  # type: ignore[attr-defined]
            raise failure

    def _wait(self, future: Any, thread: int, call: TaskCall) -> Outcome:
        # waits on an event set when the future is done, never result(timeout=): polling
        # that with short timeouts raced in distributed (an UnboundLocalError, seen here)
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        while not done.wait(_POLL):
            with self._lock:
                if thread in self._cancelled:
                    raise HeadwaterError(f"task {call.asset.name}: cancelled on {self.spec}")
        try:
            outcome: Outcome = future.result()
        except Exception as exc:  # a worker died, the scheduler went away, a cancel
            raise HeadwaterError(
                f"{call.asset.location}: task {call.asset.name} on {self.spec}: "
                f"{type(exc).__name__}: {_first_line(exc)}"
            ) from None
        return outcome

    def cancel(self, thread_id: int) -> None:
        """Cancel the future ``thread_id`` waits for (a timeout, Ctrl-C, a cancel)."""
        with self._lock:
            future = self._futures.get(thread_id)
            self._cancelled.add(thread_id)
        if future is not None:
            future.cancel()

    def close(self) -> None:
        """Disconnect from the scheduler (the cluster stays up); a scheduler already gone
        is no error here (the steps reported it)."""
        with contextlib.suppress(Exception):
            self._client.close()


def _connect(spec: str, address: str, timeout: float) -> Any:
    """A client of the scheduler at ``address``; ConnectionError_ (exit 3) when it cannot
    be reached, ProjectError when ``distributed`` is not installed."""
    try:
        from distributed import Client
    except ImportError:
        raise ProjectError(
            f"executor = {spec!r} needs Dask distributed: pip install 'headwater[dask]'"
        ) from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ConnectionError_(
            f"executor {spec}: cannot reach the Dask scheduler: {_first_line(exc)}"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
