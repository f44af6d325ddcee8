"""The servers sharing one metastore: :class:`ServerRegistry`, the part of
:class:`~headwater.metastore.store.Metastore` that records them, their heartbeats, and takes
over the runs of a dead one.

Each server inserts its row when it starts (:meth:`ServerRegistry.register_server`), writes
``heartbeat_at`` every few seconds (:meth:`ServerRegistry.heartbeat`) and deletes its row when
it stops. Every time written or compared is the database's clock (``now()`` read in the same
transaction), so the hosts' clocks need not agree.

:meth:`ServerRegistry.take_over_stale` (called by the leader) treats a server whose heartbeat
is older than the timeout as dead, in one transaction: its runs still ``running`` become
``interrupted`` (their running steps and attempts ``failed`` with the reason), the runs it had
claimed but not begun go back to the shared queue, and each ledger interval its runs held is
settled by the ledger's own state: put back to ``queued`` when the run did not finish, finished
as the run finished when it did (so an interval whose run committed is never built twice).
"""

from __future__ import annotations

import os
import socket
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from headwater.metastore import tables as t
from headwater.metastore.records import _check_id

__all__ = ["ServerRecord", "ServerRegistry", "TakeOver"]


@dataclass(frozen=True)
class ServerRecord:
    """A server sharing the metastore, as it last recorded itself."""

    server_id: str
    hostname: str
    pid: int
    url: str | None
    started_at: datetime
    heartbeat_at: datetime


@dataclass(frozen=True)
class TakeOver:
    """What :meth:`ServerRegistry.take_over_stale` did about one dead server."""

    server: ServerRecord
    interrupted: list[str]  # its running runs, now interrupted
    released: list[str]  # its claimed, never begun runs, back in the shared queue
    requeued: list[tuple[str, datetime]]  # (pipeline, interval_start) back to queued


def _db_now(conn: Connection) -> datetime:
    """The database's clock, aware UTC (one clock for every server)."""
    value = conn.execute(sa.select(sa.func.now(type_=t.UTCDateTime()))).scalar_one()
    assert isinstance(value, datetime)
    return value


class ServerRegistry:
    """Writes and reads ``servers``. A base of :class:`~headwater.metastore.store.Metastore`,
    which provides the transactions."""

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def register_server(self, server_id: str, url: str | None) -> None:
        """Record server ``server_id`` (this host and process) as alive now. ``ValueError``
        if that id is recorded already."""
        _check_id("server_id", server_id)
        with self._write() as conn:
            now = _db_now(conn)
            try:
                with conn.begin_nested():
                    conn.execute(
                        t.servers.insert().values(
                            server_id=server_id,
                            hostname=socket.gethostname(),
                            pid=os.getpid(),
                            url=url,
                            started_at=now,
                            heartbeat_at=now,
                        )
                    )
            except sa.exc.IntegrityError as exc:
                raise ValueError(f"server {server_id!r} is recorded already") from exc

    def heartbeat(self, server_id: str) -> bool:
        """Record that ``server_id`` is alive now. False when its row is gone: another server
        took it for dead and took over its runs (the caller should register again)."""
        table = t.servers
        with self._write() as conn:
            now = _db_now(conn)
            result = conn.execute(
                table.update().where(table.c.server_id == server_id).values(heartbeat_at=now)
            )
        return result.rowcount == 1

    def unregister_server(self, server_id: str) -> None:
        """Delete the row of ``server_id`` (a server stopping cleanly)."""
        with self._write() as conn:
            conn.execute(t.servers.delete().where(t.servers.c.server_id == server_id))

    def servers(self) -> list[ServerRecord]:
        """Every recorded server, oldest first."""
        table = t.servers
        query = sa.select(table).order_by(table.c.started_at, table.c.server_id)
        with self._read() as conn:
            return [ServerRecord(**row._asdict()) for row in conn.execute(query)]

    def take_over_stale(self, timeout: timedelta, by: str) -> list[TakeOver]:
        """Take over the runs of every server (but ``by``) whose heartbeat is older than
        ``timeout`` by the database's clock, and delete its row; one transaction. See the
        module docstring for what becomes of its runs and intervals."""
        servers = t.servers
        done: list[TakeOver] = []
        with self._write() as conn:
            now = _db_now(conn)
            stale = conn.execute(
                sa.select(servers)
                .where(servers.c.heartbeat_at < now - timeout, servers.c.server_id != by)
                .with_for_update(skip_locked=True)
            ).all()
            for row in stale:
                dead = ServerRecord(**row._asdict())
                reason = (
                    f"interrupted: server {dead.server_id} ({dead.hostname}, PID {dead.pid}) "
                    f"stopped sending heartbeats at {dead.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC; "
                    f"taken over by server {by}"
                )
                done.append(_take_over(conn, dead, reason, now))
                conn.execute(servers.delete().where(servers.c.server_id == dead.server_id))
        return done


def _take_over(conn: Connection, dead: ServerRecord, reason: str, now: datetime) -> TakeOver:
    runs, intervals = t.runs, t.intervals
    mine = runs.c.claimed_by == dead.server_id
    running = sorted(
        conn.execute(sa.select(runs.c.run_id).where(mine, runs.c.status == "running")).scalars()
    )
    if running:
        conn.execute(
            runs.update()
            .where(runs.c.run_id.in_(running), runs.c.status == "running")
            .values(status="interrupted", finished_at=now)
        )
        for table in (t.step_runs, t.attempts):
            conn.execute(
                table.update()
                .where(table.c.run_id.in_(running), table.c.status == "running")
                .values(
                    status="failed",
                    error=reason,
                    finished_at=sa.func.coalesce(table.c.finished_at, now),
                )
            )
    released = sorted(
        conn.execute(
            runs.update()
            .where(mine, runs.c.status == "queued")
            .values(claimed_by=None)
            .returning(runs.c.run_id)
        ).scalars()
    )
    # The ledger's rows its runs still hold, settled as their runs ended: a run that
    # succeeded or failed (committed before the server died) finishes its interval; one
    # that did not end puts it back to queued, to be built once by another run.
    held = conn.execute(
        sa.select(intervals.c.pipeline, intervals.c.interval_start, runs.c.status)
        .join(runs, runs.c.run_id == intervals.c.run_id)
        .where(intervals.c.status == "running", mine)
    ).all()
    requeued: list[tuple[str, datetime]] = []
    for pipeline, start, status in held:
        where = (intervals.c.pipeline == pipeline, intervals.c.interval_start == start)
        if status in ("success", "failed"):
            values: dict[str, object] = {"status": status, "finished_at": now}
        else:
            values = {"status": "queued", "started_at": None}
            requeued.append((pipeline, start))
        conn.execute(intervals.update().where(*where).values(**values))
    return TakeOver(dead, running, released, requeued)
