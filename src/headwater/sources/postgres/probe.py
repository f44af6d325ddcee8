"""A query that runs on a server connection of its own while the caller does other work.

The native read's NaN probe (:mod:`.native`) is one: it used to run after the warehouse's
scan, and added its whole time to the load (0.8-1.0 s on TPC-H SF1 lineitem). Started
beside the scan, it ends long before it: on SF1 lineitem (2 cores, 6 rounds each, in
DuckDB alone) the scan with a concurrent probe took a median of 13.8 s, the scan and then
the probe 15.4 s; the scan did not measurably slow down (13.8 s against 14.4 s alone).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

#: How long :meth:`BackgroundQuery.close` waits for a cancelled query to end (seconds).
CLOSE_WAIT = 10.0


class BackgroundQuery:
    """``sql`` on a connection that ``connect`` opens, in a daemon thread started at once;
    the statements of ``setup`` (``SET``s of the session) run first.

    :meth:`rows` waits for the result (or raises the query's error); :meth:`cancel` asks the
    server to stop the query and does not wait; :meth:`close` cancels and waits for the
    thread, so that no query of a finished read is left on the server.
    """

    def __init__(self, connect: Callable[[], Any], sql: str, setup: Sequence[str] = ()) -> None:
        self._connect = connect
        self._sql = sql
        self._setup = tuple(setup)
        self._lock = threading.Lock()
        self._cursor: Any = None
        self._cancelled = False
        self._rows: list[tuple[Any, ...]] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hw-probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = cursor = None
        try:
            conn = self._connect()
            with self._lock:
                if self._cancelled:
                    return
                cursor = self._cursor = conn.cursor()
            for statement in self._setup:
                cursor.execute(statement)
            cursor.execute(self._sql)
            self._rows = list(cursor.fetchall())
        except BaseException as exc:  # handed to the thread that asks for the rows
            self._error = exc
        finally:
            with self._lock:
                self._cursor = None
            for handle in (cursor, conn):
                if handle is not None:
                    with contextlib.suppress(Exception):
                        handle.close()

    def rows(self) -> list[tuple[Any, ...]]:
        """The query's rows, once it has finished; its error if it failed."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._rows is None:
            raise RuntimeError("the query was cancelled")
        return self._rows

    def cancel(self) -> None:
        """Stop the query on the server (from any thread); idempotent."""
        with self._lock:
            self._cancelled = True
            if self._cursor is not None:
                with contextlib.suppress(Exception):
                    self._cursor.adbc_cancel()

    def close(self) -> None:
        """Cancel the query and wait (at most :data:`CLOSE_WAIT` s) for its thread."""
        self.cancel()
        self._thread.join(CLOSE_WAIT)
