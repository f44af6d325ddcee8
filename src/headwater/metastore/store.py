"""The :class:`Metastore`: run history and watermark copies over SQLAlchemy Core.

One :class:`Metastore` owns one SQLAlchemy ``Engine``. It is safe to share between threads:
writes are serialised by a lock and each runs in its own short transaction; reads use pooled
connections and never wait for the lock (except on an in-memory SQLite database, which has a
single connection).

Opening the database (the SQLite pragmas, creating or migrating the schema) lives in
:mod:`headwater.metastore.database`; the records returned, the conversion of rows into them
and the checks of values written, in :mod:`headwater.metastore.records`; telling whether the
process of a run is alive, in :mod:`headwater.metastore.processes`; the steps and attempts of
runs, in :mod:`headwater.metastore.step_history`.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from headwater.metastore import tables as t
from headwater.metastore.accounts import Accounts
from headwater.metastore.claims import RunClaims
from headwater.metastore.database import open_engine, write_engine
from headwater.metastore.errors import AmbiguousRunIdError, MetastoreError, is_disk_full
from headwater.metastore.freshness import Freshness
from headwater.metastore.interval_ledger import IntervalLedger
from headwater.metastore.partition_ledger import PartitionLedger
from headwater.metastore.processes import _pid_alive
from headwater.metastore.records import (
    RUN_STATUSES,
    RunRecord,
    WatermarkRecord,
    _check_choice,
    _check_id,
    _run_record,
    _watermark_record,
)
from headwater.metastore.retention import HistoryRetention
from headwater.metastore.run_grid import RunGrid
from headwater.metastore.servers import ServerRegistry
from headwater.metastore.step_history import StepHistory

__all__ = ["ABANDONED_ERROR", "Metastore"]

ABANDONED_ERROR = "abandoned: process died"
"""``error`` of the steps and attempts of a run found dead by :meth:`Metastore.mark_abandoned`."""

_FINAL_RUN_STATUSES = RUN_STATUSES - {"running", "queued"}


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Metastore(
    StepHistory,
    IntervalLedger,
    PartitionLedger,
    HistoryRetention,
    RunGrid,
    Accounts,
    Freshness,
    RunClaims,
    ServerRegistry,
):
    """Run history (runs, steps, attempts) and a copy of each asset's watermark. The
    steps and attempts are written and read by the methods of :class:`StepHistory`; the
    ledger of scheduled intervals by those of :class:`IntervalLedger`; the built intervals of
    partitioned models by :class:`PartitionLedger`; old history is deleted by
    :meth:`HistoryRetention.prune_history`; the runs grid's pages are read by :class:`RunGrid`;
    users, API tokens and sessions by :class:`Accounts` (the overview's reads by
    :class:`Freshness`); the shared run queue's claims by
    :class:`RunClaims`; the servers and their heartbeats by :class:`ServerRegistry`.

    Open with :meth:`open`; share one instance between threads; :meth:`close` it at the end (or
    use it as a context manager). Every datetime given must be timezone-aware (a naive one raises
    ``ValueError``); every datetime returned is timezone-aware UTC.

    Secrets: the metastore stores what callers give it verbatim. Callers pass only redacted
    values (``params``, ``error`` messages, ``selection``): see docs/architecture.md, invariant 5.
    """

    def __init__(self, engine: Engine, *, single_connection: bool = False) -> None:
        """Wrap an engine as is (no migration). Prefer :meth:`open`."""
        self._engine = engine
        self._write_engine = write_engine(engine)
        self._lock = threading.Lock()
        self._batch = threading.local()
        self._read_guard: AbstractContextManager[Any] = (
            self._lock if single_connection else nullcontext()
        )
        self._hostname = socket.gethostname()

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(cls, url: str, *, busy_timeout_s: float = 30.0) -> Metastore:
        """Open (creating and migrating if needed) the metastore at a SQLAlchemy URL.

        ``url`` is e.g. ``"sqlite:////abs/path/.headwater/metastore.sqlite"`` (the parent folder
        is created), ``"sqlite://"`` (in memory, for tests) or
        ``"postgresql+psycopg://user:pw@host/db"`` (the database must exist).

        The schema is brought to the newest revision. When it already is, one plain query
        checks it and Alembic is not imported. Concurrent first opens are safe: the migration
        holds the database write lock (SQLite) or an advisory lock (PostgreSQL), and the second
        opener finds the schema current.

        Raises :class:`MetastoreError` when the database cannot be reached or was migrated by a
        newer Headwater.
        """
        engine, single_connection = open_engine(url, busy_timeout_s=busy_timeout_s)
        return cls(engine, single_connection=single_connection)

    def close(self) -> None:
        """Release every pooled connection. The instance must not be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> Metastore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The database URL with any password hidden (safe to print)."""
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tests and tooling; go through the methods otherwise)."""
        return self._engine

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group this thread's writes into one transaction (the runtime records step events
        in batches: one commit per batch instead of one per event)."""
        with self._disk_full(), self._lock, self._write_engine.begin() as conn:
            self._batch.conn = conn
            try:
                yield
            finally:
                self._batch.conn = None

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        conn = getattr(self._batch, "conn", None)
        if conn is not None:  # inside batch(): same transaction, lock already held
            yield conn
            return
        with self._disk_full(), self._lock, self._write_engine.begin() as conn:
            yield conn

    @contextmanager
    def _disk_full(self) -> Iterator[None]:
        """A write that finds the disk full raises :class:`MetastoreError` naming the file,
        in one line; the transaction was rolled back whole (nothing half-written)."""
        try:
            yield
        except (sa.exc.OperationalError, OSError) as exc:
            if not is_disk_full(exc):
                raise
            where = (
                self._engine.url.database
                if self._engine.url.get_backend_name() == "sqlite"
                else self.url
            )
            raise MetastoreError(
                f"{where}: cannot write the metastore: no space left on device"
            ) from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._read_guard, self._engine.connect() as conn:
            yield conn

    # ------------------------------------------------------------------ runs

    def start_run(
        self,
        run_id: str,
        *,
        project: str,
        selection: str | None,
        pipeline: str | None = None,
        trigger: str = "cli",
        parent_run_id: str | None = None,
        params: Mapping[str, object] | None = None,
        queued: bool = False,
    ) -> None:
        """Record a new run, status ``running`` (``queued`` when ``queued``: a server's queue
        holds it until :meth:`begin_run`), started now, with this process's pid and host.

        ``params`` is stored as JSON (values JSON cannot hold are stored as ``str(value)``);
        callers pass redacted values only. Raises ``ValueError`` if ``run_id`` exists.
        """
        _check_id("run_id", run_id)
        payload = json.dumps(dict(params or {}), sort_keys=True, default=str)
        try:
            with self._write() as conn:
                conn.execute(
                    t.runs.insert().values(
                        run_id=run_id,
                        project=project,
                        pipeline=pipeline,
                        selection=selection,
                        trigger=trigger,
                        parent_run_id=parent_run_id,
                        status="queued" if queued else "running",
                        started_at=_utcnow(),
                        finished_at=None,
                        pid=os.getpid(),
                        hostname=self._hostname,
                        params=payload,
                    )
                )
        except sa.exc.IntegrityError as exc:
            raise ValueError(f"run {run_id!r} already exists in the metastore") from exc

    def begin_run(self, run_id: str, params: Mapping[str, object]) -> bool:
        """Turn queued run ``run_id`` ``running`` (started now, this process's pid, its
        ``params`` replaced); False when it is not queued (cancelled meanwhile, or unknown)."""
        payload = json.dumps(dict(params), sort_keys=True, default=str)
        with self._write() as conn:
            result = conn.execute(
                t.runs.update()
                .where(t.runs.c.run_id == run_id, t.runs.c.status == "queued")
                .values(
                    status="running",
                    started_at=_utcnow(),
                    pid=os.getpid(),
                    # the host that runs it: another server's host may have queued it
                    hostname=self._hostname,
                    params=payload,
                )
            )
        return result.rowcount == 1

    def finish_run(self, run_id: str, status: str, *, unfinished: str | None = None) -> None:
        """Set a run's final status (``success``, ``failed`` or ``abandoned``), finished now.
        With ``unfinished`` (an error), its steps and attempts still ``running`` become
        ``failed`` with that error (a run stopped by Ctrl-C).

        Raises ``ValueError`` for another status or an unknown run.
        """
        _check_choice("final run status", status, _FINAL_RUN_STATUSES)
        now = _utcnow()
        with self._write() as conn:
            result = conn.execute(
                t.runs.update()
                .where(t.runs.c.run_id == run_id)
                .values(status=status, finished_at=now)
            )
            if result.rowcount == 0:
                raise ValueError(f"unknown run {run_id!r}")
            if unfinished is not None:
                _fail_running(conn, [run_id], unfinished, now)

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The ``limit`` most recent runs, newest first (ties broken by run id, descending)."""
        if limit < 0:
            raise ValueError("limit must be >= 0")
        query = (
            sa.select(t.runs)
            .order_by(t.runs.c.started_at.desc(), t.runs.c.run_id.desc())
            .limit(limit)
        )
        with self._read() as conn:
            return [_run_record(row) for row in conn.execute(query)]

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id or, failing that, the only run whose id starts with it.

        Returns ``None`` when nothing matches (or ``run_id`` is empty); raises
        :class:`AmbiguousRunIdError` when several runs share the prefix.
        """
        if not run_id:
            return None
        with self._read() as conn:
            row = conn.execute(sa.select(t.runs).where(t.runs.c.run_id == run_id)).first()
            if row is not None:
                return _run_record(row)
            rows = conn.execute(
                sa.select(t.runs)
                .where(
                    t.runs.c.run_id.startswith(run_id, autoescape=True),
                    # SQLite's LIKE ignores ASCII case; this keeps the match exact everywhere.
                    sa.func.substr(t.runs.c.run_id, 1, len(run_id)) == run_id,
                )
                .order_by(t.runs.c.run_id)
                .limit(6)
            ).all()
        if not rows:
            return None
        if len(rows) > 1:
            raise AmbiguousRunIdError(run_id, [r.run_id for r in rows])
        return _run_record(rows[0])

    def mark_abandoned(self) -> list[str]:
        """Abandon the runs of this host whose process is gone; return their ids.

        A run qualifies when its status is ``running``, its hostname is this host's and its
        pid is not alive (``os.kill(pid, 0)``; a zombie counts as dead). It becomes
        ``abandoned`` with ``finished_at`` now; its ``running`` steps and attempts become
        ``failed`` with error :data:`ABANDONED_ERROR`. ``pending`` steps are left as they are.
        Runs of other hosts are never touched (their pids mean nothing here).
        """
        with self._write() as conn:
            candidates = conn.execute(
                sa.select(t.runs.c.run_id, t.runs.c.pid).where(
                    t.runs.c.status == "running", t.runs.c.hostname == self._hostname
                )
            ).all()
            dead = sorted(row.run_id for row in candidates if not _pid_alive(row.pid))
            if not dead:
                return []
            now = _utcnow()
            conn.execute(
                t.runs.update()
                .where(t.runs.c.run_id.in_(dead), t.runs.c.status == "running")
                .values(status="abandoned", finished_at=now)
            )
            _fail_running(conn, dead, ABANDONED_ERROR, now)
        return dead

    # ------------------------------------------------------------------ check results

    def record_check_results(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert check results (rows of ``check_results``); a (run, asset, check) already
        recorded is replaced, so a retried step keeps only its last results."""
        table = t.check_results
        if not rows:
            return
        with self._write() as conn:
            for row in rows:
                conn.execute(
                    table.delete().where(
                        table.c.run_id == row["run_id"],
                        table.c.asset == row["asset"],
                        table.c.check_name == row["check_name"],
                    )
                )
            conn.execute(table.insert(), [dict(r) for r in rows])

    # ------------------------------------------------------------------ watermarks

    def set_watermark(self, asset: str, value: str, *, location: str, run_id: str) -> None:
        """Record (insert or replace) the copy of ``asset``'s watermark, updated now.

        This copy is for display; the authoritative value lives at ``location`` and is
        committed with the data. Call this after that commit.
        """
        _check_id("asset", asset)
        values: dict[str, object] = {
            "value": value,
            "location": location,
            "run_id": run_id,
            "updated_at": _utcnow(),
        }
        table = t.watermarks
        with self._write() as conn:
            result = conn.execute(table.update().where(table.c.asset == asset).values(**values))
            if result.rowcount == 0:
                conn.execute(table.insert().values(asset=asset, **values))

    def watermarks(self) -> list[WatermarkRecord]:
        """Every recorded watermark, by asset name."""
        query = sa.select(t.watermarks).order_by(t.watermarks.c.asset)
        with self._read() as conn:
            return [_watermark_record(row) for row in conn.execute(query)]


def _fail_running(conn: sa.Connection, run_ids: list[str], error: str, now: datetime) -> None:
    """The ``running`` steps and attempts of ``run_ids`` become ``failed`` with ``error``."""
    for table in (t.step_runs, t.attempts):
        conn.execute(
            table.update()
            .where(table.c.run_id.in_(run_ids), table.c.status == "running")
            .values(
                status="failed",
                error=error,
                finished_at=sa.func.coalesce(table.c.finished_at, now),
            )
        )
