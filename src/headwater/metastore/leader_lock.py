"""One leader among the servers of a PostgreSQL metastore: :class:`LeaderLock`.

The lock is a PostgreSQL session-level advisory lock (``pg_try_advisory_lock``) held by a
connection of its own, outside the pool's rotation. It never waits: a server that does not
get it is a standby and tries again later. PostgreSQL releases the lock when the holder's
session ends, so a leader killed with SIGKILL (its socket closed by the kernel) or cut off
from the database frees it for a standby at once. The holder checks its connection each
time it asks (:meth:`LeaderLock.hold`); a broken one means the lock is lost.

The key is derived from the project's name, so that several projects may share a database.
On SQLite there is one server: the lock is always held (:meth:`LeaderLock.hold` is True).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

__all__ = ["LeaderLock", "leader_key"]

_log = logging.getLogger("headwater.server")


def leader_key(project: str) -> int:
    """The advisory lock key (a signed 64-bit integer) of ``project``'s leader."""
    digest = hashlib.blake2b(f"headwater-leader:{project}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class LeaderLock:
    """The leader lock of ``project`` on ``engine``'s database. Not thread-safe: one thread
    (the server's cluster loop) calls it."""

    def __init__(self, engine: Engine, project: str) -> None:
        self._engine = engine
        self._key = leader_key(project)
        self._conn: Connection | None = None
        self._postgres = engine.dialect.name == "postgresql"

    @property
    def held(self) -> bool:
        """Whether this process held the lock when last asked."""
        return self._conn is not None or not self._postgres

    def hold(self) -> bool:
        """Keep the lock if held (its connection still answers), else try to take it, without
        waiting. True when this process holds it now."""
        if not self._postgres:
            return True
        if self._conn is not None:
            try:
                self._conn.exec_driver_sql("SELECT 1")
                return True
            except sa.exc.SQLAlchemyError as exc:
                _log.warning("leader lock lost: %s", str(exc).splitlines()[0])
                self._discard()
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = conn.execute(sa.select(sa.func.pg_try_advisory_lock(self._key))).scalar()
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        if taken:
            self._conn = conn
            return True
        conn.close()  # nothing held by it: back to the pool
        return False

    def release(self) -> None:
        """Give the lock up (a server stopping): a standby takes it on its next try."""
        if self._conn is None:
            return
        # an error: the session is gone, and the lock with it
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            self._conn.execute(sa.select(sa.func.pg_advisory_unlock(self._key)))
        self._discard()

    def _discard(self) -> None:
        # invalidated, not returned to the pool: the session (and any lock) ends here
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.invalidate()
            conn.close()
