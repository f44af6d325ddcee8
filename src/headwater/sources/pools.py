"""Connection pools: ``max_concurrent = N`` on a connection lets no more than N extracts read
from it at once, across the steps of a run and across the runs of one process (a server).

The registry is module-level (one per process) and keyed by connection name: a project's
server is one process per project, so a name means one database. A waiting step polls its
cancel flag, so a step timeout or a Ctrl-C still stops it while it waits for a slot.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from headwater.errors import SourceError

_POLL = 0.1  # seconds between two looks at a waiting step's cancel flag


class Pool:
    """At most ``limit`` holders at once; the count in use is known (for the wait's log)."""

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self.in_use = 0
        self._free = threading.Condition()

    def acquire(self, cancelled: threading.Event, log: logging.Logger) -> None:
        """Take a slot, waiting (logged once) while all are in use; raises :class:`SourceError`
        if ``cancelled`` is set before a slot is free."""
        with self._free:
            if self.in_use >= self.limit:
                log.info(
                    "waiting for a slot of connection %s (%d of %d in use)",
                    self.name,
                    self.in_use,
                    self.limit,
                )
            while self.in_use >= self.limit:
                if cancelled.is_set():
                    raise SourceError(
                        f"cancelled while waiting for a slot of connection {self.name!r}"
                    )
                self._free.wait(_POLL)
            self.in_use += 1

    def release(self) -> None:
        with self._free:
            self.in_use -= 1
            self._free.notify()


_pools: dict[str, Pool] = {}
_pools_lock = threading.Lock()
_waiting: dict[int, threading.Event] = {}  # thread id -> the cancel flag of its wait


def pool_for(name: str, limit: int) -> Pool:
    """The process's pool of connection ``name``. A changed limit (a reloaded project) gets
    a new pool: holders of the old one release into it, not into the new."""
    with _pools_lock:
        pool = _pools.get(name)
        if pool is None or pool.limit != limit:
            pool = _pools[name] = Pool(name, limit)
        return pool


@contextlib.contextmanager
def connection_slot(name: str, limit: int | None, log: logging.Logger) -> Iterator[None]:
    """Hold a slot of connection ``name`` for the body (no limit: nothing to hold). The
    slot's taking and release are logged, so a step log shows when the extract held it."""
    if limit is None:
        yield
        return
    pool = pool_for(name, limit)
    me = threading.get_ident()
    cancelled = threading.Event()
    with _pools_lock:
        _waiting[me] = cancelled
    try:
        pool.acquire(cancelled, log)
    finally:
        with _pools_lock:
            _waiting.pop(me, None)
    log.info("took a slot of connection %s (%d of %d in use)", name, pool.in_use, limit)
    try:
        yield
    finally:
        log.info("released the slot of connection %s", name)
        pool.release()


def cancel_wait(thread_id: int) -> None:
    """Stop the wait for a slot of the step on ``thread_id``, if it is waiting (a timeout,
    a Ctrl-C: the executor cancels the step's thread)."""
    with _pools_lock:
        cancelled = _waiting.get(thread_id)
    if cancelled is not None:
        cancelled.set()


__all__ = ["Pool", "cancel_wait", "connection_slot", "pool_for"]
