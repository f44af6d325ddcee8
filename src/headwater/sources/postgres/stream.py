"""Read a list of queries on N connections, batches interleaved into one bounded stream.

Each worker thread owns one connection and takes the next query (a key or block range of
the table) from a shared list until none is left; the driver decodes on that thread with
the GIL released, and the type fixes run there too, so decoding overlaps the warehouse's
consumption. At most ``2 * workers`` batches wait in the queue: memory stays bounded.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from headwater.errors import HeadwaterError

_DONE = object()
_PUT_WAIT = 0.2  # seconds between checks of the stop flag while the queue is full
BATCH_BYTES = 16 << 20  # the driver's batch size hint (bytes of Arrow data per batch)


class Stream:
    """Run ``queries`` on connections from ``connect(i)`` (``i`` = worker number)."""

    def __init__(
        self,
        queries: list[str],
        *,
        workers: int,
        connect: Callable[[int], Any],
        release: Callable[[int, Any], None],
        convert: Callable[[pa.RecordBatch], pa.RecordBatch],
        on_error: Callable[[BaseException], HeadwaterError],
        params: tuple[Any, ...] = (),
    ) -> None:
        self._todo: queue.SimpleQueue[str] = queue.SimpleQueue()
        for sql in queries:
            self._todo.put(sql)
        self._workers = max(1, min(workers, len(queries)))
        self._connect = connect
        self._release = release
        self._convert = convert
        self._on_error = on_error
        self._params = params or None  # bound to each query (the run's interval)
        # batches take a slot (bounded memory); end marks and errors never wait for one
        self._out: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._slots = threading.Semaphore(2 * self._workers)
        self._stop = threading.Event()
        self._cursors: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.failure: HeadwaterError | None = None

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The batches of every query, in arrival order; raises the first worker's error."""
        self._threads = [
            threading.Thread(target=self._work, args=(i,), name=f"hw-pg-{i}", daemon=True)
            for i in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()
        running = len(self._threads)
        try:
            while running:
                item = self._out.get()
                if item is _DONE:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    assert isinstance(item, pa.RecordBatch)
                    self._slots.release()
                    yield item
            if self.failure is not None:
                raise self.failure
        finally:
            self.stop()

    def cancel(self, error: HeadwaterError) -> None:
        """Make the consumer raise ``error`` at once (it may be blocked waiting for a
        batch: a step's timeout cannot reach it otherwise), then stop the workers."""
        with self._lock:
            if self.failure is None:
                self.failure = error
        self._stop.set()
        self._out.put(error)
        self.stop(wait=0)

    def stop(self, wait: float = 30.0) -> None:
        """Stop the workers (cancelling running queries) and wait for them."""
        self._stop.set()
        with self._lock:
            cursors = list(self._cursors.values())
        for cur in cursors:
            with contextlib.suppress(Exception):
                cur.adbc_cancel()
        for thread in self._threads:
            thread.join(timeout=wait)

    def _put(self, batch: pa.RecordBatch) -> bool:
        while not self._stop.is_set():
            if self._slots.acquire(timeout=_PUT_WAIT):
                self._out.put(batch)
                return True
        return False

    def _work(self, number: int) -> None:
        conn = None
        try:
            conn = self._connect(number)
            cur = conn.cursor()
            with self._lock:
                self._cursors[number] = cur
            cur.adbc_statement.set_options(
                **{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_BYTES)}
            )
            while not self._stop.is_set():
                try:
                    sql = self._todo.get_nowait()
                except queue.Empty:
                    break
                cur.execute(sql, self._params)
                reader = cur.fetch_record_batch()
                for batch in reader:
                    if self._stop.is_set() or not self._put(self._convert(batch)):
                        return
        except BaseException as exc:
            if not self._stop.is_set():
                error = self._on_error(exc)
                with self._lock:
                    if self.failure is None:
                        self.failure = error
                self._stop.set()
                self._out.put(error)
        finally:
            with self._lock:
                cur = self._cursors.pop(number, None)
            if cur is not None:
                with contextlib.suppress(Exception):
                    cur.close()
            if conn is not None:
                with contextlib.suppress(Exception):
                    self._release(number, conn)
            self._out.put(_DONE)
