"""The server's *data generation*: a cheap value that changes whenever the metastore or the
warehouse may have changed, so that the response cache (:mod:`headwater.server.cache`) can
tell whether an answer it keeps is still the answer.

Contract: :meth:`Generation.current` returns a hashable value; two equal values read at
instants t1 < t2 mean nothing was committed to the metastore or the warehouse between t1 and
t2, by this process or any other. It may also change when nothing a reader sees changed (a
session touched, a SQLite checkpoint): that only costs a recomputation. It is made of:

- the metastore's version as the database tells it, so that writes by other processes (a
  CLI run, a second server) count as well as this server's own run:

  * SQLite: ``PRAGMA data_version`` on a connection of its own that never writes (SQLite
    changes it on that connection whenever *any other* connection commits, in this process
    or another; ~10 us);
  * PostgreSQL: ``txid_current_snapshot()``: a committed writing transaction either leaves
    the snapshot's in-progress list or was given an id past its ``xmax``, so the snapshot's
    text changes (cluster-wide: other databases' writes count too, which is only cautious);
  * anything else: a value that never repeats (nothing is ever reused);

- a DuckDB warehouse's file and its WAL as ``stat`` sees them (size, mtime, inode): DuckDB
  appends every commit to the WAL and a checkpoint rewrites the file (only the server writes
  it while it runs: the file is locked). Another warehouse (PostgreSQL, Spark) may be
  written by other processes unseen: ``sees_warehouse`` is then False;
- a counter :meth:`bump` raises, which the server calls after each request that may write.

An answer that reads only the metastore asks for the generation without the warehouse's part
(``current(warehouse=False)``): equal values then promise nothing about the warehouse.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

__all__ = ["Generation"]


class Generation:
    """The data generation of one project's metastore (``metastore_url``) and warehouse file
    (``warehouse``). Thread-safe. :meth:`close` releases its database connection."""

    def __init__(self, metastore_url: str, warehouse: Path | None) -> None:
        #: whether the warehouse's writes count (a DuckDB file, given as ``warehouse``); a
        #: warehouse others may write (PostgreSQL, Spark) is not seen: what reads it must
        #: not be cached
        self.sees_warehouse = warehouse is not None
        found = (
            () if warehouse is None else (warehouse, warehouse.with_name(warehouse.name + ".wal"))
        )
        self._files: tuple[Path, ...] = found
        self._own = 0  # bumped by this server after a request that may write
        self._lock = threading.Lock()
        self._close: Callable[[], None] = lambda: None
        self._version = self._metastore_version(metastore_url)

    def current(self, *, warehouse: bool = True) -> Hashable:
        """The generation now (see the module docstring for what equal values promise);
        ``warehouse=False``: of the metastore only, for an answer that reads nothing from
        the warehouse (while a pipeline runs, each model it builds commits to the warehouse,
        many times a second; the metastore changes when the run records its steps, in
        batches)."""
        made = (self._own, self._version())
        return (*made, *(_stat(f) for f in self._files)) if warehouse else made

    def bump(self) -> None:
        """Something was (or may have been) written by this process."""
        with self._lock:
            self._own += 1

    def close(self) -> None:
        """Close the connection :meth:`current` reads the metastore's version on."""
        self._close()

    def _metastore_version(self, url: str) -> Callable[[], Hashable]:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        backend = parsed.get_backend_name()
        database = parsed.database or ""
        if backend == "sqlite" and database not in ("", ":memory:") and "mode" not in parsed.query:
            return self._sqlite_version(Path(database).expanduser())
        if backend == "postgresql":
            return self._postgres_version(url)
        counter = itertools.count()  # in memory or unknown: never equal twice, never cached
        return lambda: next(counter)

    def _sqlite_version(self, path: Path) -> Callable[[], Hashable]:
        # read-only and in autocommit: it never holds a snapshot that would freeze the value;
        # opened at the first read that finds the file (an app made before any run has none)
        conns: list[sqlite3.Connection] = []
        missing = itertools.count()

        def close() -> None:
            for conn in conns:
                conn.close()

        self._close = close

        def version() -> Hashable:
            with self._lock:  # one sqlite3 connection: one thread at a time
                if not conns:
                    if not path.exists():
                        return ("missing", next(missing))  # never equal twice: not cached
                    conns.append(
                        sqlite3.connect(
                            f"file:{path}?mode=ro",
                            uri=True,
                            isolation_level=None,
                            check_same_thread=False,
                        )
                    )
                row = conns[0].execute("PRAGMA data_version").fetchone()
            return int(row[0])

        return version

    def _postgres_version(self, url: str) -> Callable[[], Hashable]:
        import sqlalchemy as sa

        engine = sa.create_engine(url, pool_size=1, max_overflow=4, pool_pre_ping=True)
        self._close = engine.dispose
        statement = sa.text("SELECT txid_current_snapshot()::text")

        def version() -> Hashable:
            with engine.connect() as conn:  # its own transaction: a fresh snapshot each time
                return str(conn.execute(statement).scalar_one())

        return version


def _stat(path: Path) -> Any:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return (found.st_size, found.st_mtime_ns, found.st_ino)
