"""Several servers on one PostgreSQL metastore: :class:`Cluster`, this server's place among
them (its heartbeats, the leader lock, the take-over of dead servers' runs).

Every ``every`` seconds (the heartbeat timeout / 6, between 0.2 and 5 s) a thread of the
server:

1. keeps or tries to take the leader lock (:class:`~headwater.metastore.leader_lock.LeaderLock`,
   a PostgreSQL advisory lock on a connection of its own). Only the leader runs the scheduler
   loop and housekeeping (:attr:`Cluster.leading` gates them); a standby tries again on its
   next beat, so it takes over within a beat of the leader's session ending (SIGKILL included);
2. records its heartbeat (``servers.heartbeat_at``, the database's clock). A server whose row
   was deleted (it was taken for dead: a long pause, a lost network) stops its running run
   (``on_lost`` callbacks: its run was recorded ``interrupted`` and its interval handed to
   another) and records itself again;
3. as the leader, takes over the servers whose heartbeat is older than the timeout
   (:meth:`~headwater.metastore.Metastore.take_over_stale`): their running runs are recorded
   ``interrupted`` with the reason, their scheduled intervals queued again (or finished, when
   their run had finished), their claimed but not begun runs given back to the shared queue.

``on_lead`` callbacks run when this server becomes the leader and after each take-over that
found a dead server (the scheduler then settles the ledger: :meth:`Scheduler.recover`).

The timeout is ``[project] heartbeat_timeout`` (seconds, default 30): longer than any pause a
live server may make (a slow metastore, a stop-the-world moment), short enough that a dead
server's work resumes soon. The ledger's unique key and the conditional claims stay the last
line of defence should two servers both believe they lead for a moment.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import timedelta

from headwater.metastore import Metastore
from headwater.metastore.leader_lock import LeaderLock
from headwater.project import Project

__all__ = ["Cluster", "heartbeat_every", "is_shared"]

_log = logging.getLogger("headwater.server")


def is_shared(project: Project) -> bool:
    """Whether ``project``'s metastore may be shared by several servers (PostgreSQL)."""
    return project.metastore_url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def heartbeat_every(timeout: float) -> float:
    """Seconds between two heartbeats for a ``timeout``: six beats fit in it."""
    return min(5.0, max(0.2, timeout / 6))


def _new_server_id() -> str:
    """``host-pid-random``: readable in the ``servers`` table, unique across restarts."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"


class Cluster:
    """This server (``url``: where its API listens) among those of ``project``'s metastore."""

    def __init__(self, project: Project, url: str | None) -> None:
        self.project, self.url = project, url
        self.timeout = float(project.settings.project.heartbeat_timeout)
        self.every = heartbeat_every(self.timeout)
        self.server_id = _new_server_id()
        self.on_lead: list[Callable[[], None]] = []
        self.on_lost: list[Callable[[], None]] = []  # this server was taken for dead
        self._store = Metastore.open(project.metastore_url)
        self._lock = LeaderLock(self._store.engine, project.name)
        self._leading = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hw-cluster", daemon=True)

    def leading(self) -> bool:
        """Whether this server is the leader (held the lock at its last beat)."""
        return self._leading

    def start(self) -> None:
        """Record this server, take the lead if it is free, then beat on a thread."""
        self._store.register_server(self.server_id, self.url)
        self.beat()
        self._thread.start()

    def stop(self) -> None:
        """Stop beating, give the lead up and delete this server's row (call it after the
        run queue stopped: its running run is recorded by then)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._leading = False
        try:
            self._lock.release()
            self._store.unregister_server(self.server_id)
        except Exception:  # an unreachable metastore: the others take this server for dead
            _log.exception("server %s: could not record its stop", self.server_id)
        finally:
            self._store.close()

    def beat(self) -> None:
        """One beat: the lead, the heartbeat, the take-over of dead servers (as leader)."""
        was = self._leading
        try:
            self._leading = self._lock.hold()
        except Exception:
            self._leading = False
            raise
        finally:
            if self._leading != was:
                _log.warning(
                    "server %s: %s the leader",
                    self.server_id,
                    "is now" if self._leading else "is no longer",
                )
        if not self._store.heartbeat(self.server_id):
            _log.warning(
                "server %s was taken for dead: its running run stops; recording it again",
                self.server_id,
            )
            for callback in self.on_lost:
                callback()
            self._store.register_server(self.server_id, self.url)
        taken = []
        if self._leading:
            taken = self._store.take_over_stale(timedelta(seconds=self.timeout), self.server_id)
        for dead in taken:
            _log.warning(
                "server %s (%s, PID %d) sent no heartbeat for %ss: took over its runs "
                "(interrupted %s; back in the queue %s; intervals queued again %d)",
                dead.server.server_id,
                dead.server.hostname,
                dead.server.pid,
                self.timeout,
                ", ".join(dead.interrupted) or "none",
                ", ".join(dead.released) or "none",
                len(dead.requeued),
            )
        if (self._leading and not was) or taken:
            for callback in self.on_lead:
                callback()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.beat()
            except Exception:  # an unreachable metastore: try again on the next beat
                _log.exception("server %s: heartbeat failed", self.server_id)
