"""``headwater server``: one long-lived process per project that owns its warehouse.

It opens the warehouse once (:func:`headwater.api.shared_warehouse`: every run,
query, check and quarantine call of the process uses that engine), settles what a killed
predecessor left (runs, intervals), then runs three things until SIGTERM or SIGINT: the run
queue's worker, the scheduler loop and the HTTP API (uvicorn, on ``host:port``; port 0
picks a free one). ``.headwater/server.json`` says where it listens, with the token.

Stopping (SIGTERM, SIGINT): the HTTP server stops taking requests, the scheduler stops, the
running run is cancelled as Ctrl-C cancels one (its steps interrupted, the run recorded
``interrupted``, a scheduled interval queued again), queued runs are recorded
``interrupted``, the warehouse is closed and server.json removed; the process exits 0.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from headwater import api
from headwater.errors import ProjectError
from headwater.metastore import Metastore
from headwater.project import Project
from headwater.server.housekeeping import Housekeeper
from headwater.server.leader import Cluster, is_shared
from headwater.server.runs import RunQueue, RunRequest
from headwater.server.scheduler import Scheduler
from headwater.server.shared_queue import SharedRunQueue
from headwater.server.state import (
    ServerInfo,
    live_server,
    pid_alive,
    remove_info,
    server_file,
    write_info,
)
from headwater.server.streams import TRIGGER as STREAM
from headwater.server.streams import Streams
from headwater.server.triggers import TRIGGERS

_log = logging.getLogger("headwater.server")


class ServerRunning(ProjectError):
    """A live server of the project already runs (exit 2)."""


def serve(project_dir: Path, *, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the server of the project in ``project_dir`` until SIGTERM or SIGINT. Raises
    ServerRunning (naming its PID and URL) when one already runs; ProjectError for a
    project that does not load; WarehouseBusy when another process holds the warehouse."""
    _few_malloc_arenas()
    project = api.open_project(project_dir, discover=True)
    path = server_file(project.state_dir)
    running = live_server(project.state_dir)
    if running is not None:
        raise ServerRunning(
            f"a server of this project already runs: PID {running.pid} at {running.url}"
        )
    sock = _bind(host, port)
    url = f"http://{_url_host(host)}:{sock.getsockname()[1]}"
    info = ServerInfo(url, os.getpid(), secrets.token_urlsafe(32), datetime.now(UTC).isoformat())
    with open_stores(project):
        # a PostgreSQL metastore may be shared by several servers (server/leader.py)
        cluster = Cluster(project, url) if is_shared(project) else None
        runs = RunQueue(project) if cluster is None else SharedRunQueue(project, cluster.server_id)
        scheduler = Scheduler(project, runs)
        housekeeper = Housekeeper(project)  # missed deadlines, history retention
        # continuous Kafka sources: micro-batches through the run queue (server/streams.py)
        streams = Streams(project, runs) if cluster is None else None
        if cluster is None:
            _recover(project, runs, scheduler)
        else:
            _join(project, cluster, runs, scheduler, housekeeper)
        write_info(path, info)
        try:
            if cluster is not None:
                cluster.start()
            runs.start()
            scheduler.start()
            housekeeper.start()
            if streams is not None:
                streams.start()
            signum = _serve_http(project, runs, info.token, sock, scheduler)
        finally:
            if streams is not None:  # first: no micro-batch queued once the queue stops
                streams.stop()
            housekeeper.stop()
            scheduler.stop()
            runs.stop(signum=_last_signal[0] or int(signal.SIGTERM))
            if cluster is not None:  # after the run queue: its run's end is recorded
                cluster.stop()
            remove_info(path, info.pid)
    _log.info("server stopped (signal %s)", signum)


def _few_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas for this process (``MALLOC_ARENA_MAX``) unless the
    environment sets it. glibc gives each thread that allocates its own arena (up to 8 per
    core), and the server's endpoint, queue and scheduler threads each kept freed memory in
    theirs: under 100 clients its peak RSS went from 200 to 216 MB. Called before any thread
    starts; a no-op off glibc."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # musl and others: no arenas to cap
        return
    m_arena_max = -8  # malloc.h
    libc.mallopt(m_arena_max, arenas)


@contextlib.contextmanager
def open_stores(project: Project) -> Iterator[None]:
    """The warehouse and the metastore opened once for the whole process, every API call
    of the process using them (:func:`api.shared_warehouse`, :func:`api.shared_metastore`:
    a read endpoint no longer opens the metastore per request), and closed last."""
    with (
        _warehouse(project),
        Metastore.open(project.metastore_url) as store,
        api.shared_metastore(project, store),
    ):
        yield


@contextlib.contextmanager
def _warehouse(project: Project) -> Iterator[None]:
    """The warehouse opened once for the whole process (its ``[project]`` engine at its
    location: a DuckDB file, a PostgreSQL URL, Spark's folder), and closed last. An engine
    with ``capabilities.exclusive_process`` (DuckDB) is then held by this process alone:
    opening it fails naming the run that holds it; PostgreSQL lets other processes read and
    write it meanwhile."""
    from headwater.api.project import open_warehouse

    with api.warehouse_in_use(project):
        engine = open_warehouse(project)
    try:
        with api.shared_warehouse(project, engine):
            yield
    finally:
        engine.close()


def _recover(project: Project, runs: RunQueue, scheduler: Scheduler) -> None:
    """What a server killed without stopping left behind: its running runs become
    ``abandoned`` (as every reader of the history marks them), its queued runs are queued
    again (a scheduled one is abandoned: its interval is queued again instead)."""
    with Metastore.open(project.metastore_url) as store:
        store.mark_abandoned()
        for record in reversed(store.runs(10_000)):
            if record.status != "queued" or pid_alive(record.pid or 0):
                continue
            asked = record.params.get("request")
            # a scheduled or triggered run is queued again by its scheduler or trigger, a
            # stream's micro-batch read again by its stream from the warehouse's offsets
            if (
                "interval_start" in record.params
                or record.trigger in TRIGGERS
                or record.trigger == STREAM
                or not isinstance(asked, dict)
            ):
                store.finish_run(record.run_id, "abandoned")
                continue
            request = RunRequest(
                list(asked.get("select") or []),
                list(asked.get("exclude") or []),
                asked.get("pipeline"),
                bool(asked.get("full_refresh")),
                trigger=record.trigger,
                run_group=asked.get("run_group"),
                retry_of=asked.get("retry_of"),  # a retry reruns its parent's failures
            )
            runs.submit(request, record.run_id, recorded=True)
        scheduler.recover(store)


def _join(
    project: Project,
    cluster: Cluster,
    runs: RunQueue,
    scheduler: Scheduler,
    housekeeper: Housekeeper,
) -> None:
    """Several servers on one metastore: the queued runs wait in the metastore for any of
    them, and what a dead server left is settled by the leader (its take-over, then the
    scheduler's recover); here only this host's runs whose process is gone are abandoned."""
    with Metastore.open(project.metastore_url) as store:
        store.mark_abandoned()
    scheduler.leading = housekeeper.leading = cluster.leading
    cluster.on_lead.append(scheduler.recover_asked.set)
    if isinstance(runs, SharedRunQueue):
        cluster.on_lost.append(runs.stop_running)


_last_signal: list[int] = [0]
# the HTTP endpoints' threads (AnyIO's default: 40): two per core, 4 to 16. Each keeps a
# warehouse cursor, a metastore connection and a malloc arena; the reads hold the GIL
# mostly, so on 2 cores 40 threads only took turns: benchmarks/ui_load's peak RSS was
# 258 MB with 40, 216 MB with 8, 198 MB with 4, the answers per second the same
HTTP_THREADS = min(16, max(4, 2 * (os.cpu_count() or 2)))


def _serve_http(
    project: Project, runs: RunQueue, token: str, sock: socket.socket, scheduler: Scheduler
) -> int:
    """Serve the HTTP API on ``sock`` until a signal; return its number. The signal's
    handler stops the scheduler and the running run at once, not after the HTTP server's
    own shutdown."""
    import uvicorn

    from headwater.server.http import create_app

    class _Server(uvicorn.Server):
        def capture_signals(self) -> Any:  # uvicorn re-raises the signal after: we exit 0
            return _signals(self, scheduler, runs)

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            import anyio.to_thread

            # in the event loop: its thread pool runs the endpoints
            anyio.to_thread.current_default_thread_limiter().total_tokens = HTTP_THREADS
            await super().startup(sockets=sockets)

    config = uvicorn.Config(
        create_app(project, runs, token),
        log_level="warning",
        access_log=False,
        lifespan="off",
        root_path=project.settings.server.root_path,  # behind a reverse proxy's prefix
    )
    _Server(config).run(sockets=[sock])
    return _last_signal[0]


@contextlib.contextmanager
def _signals(server: Any, scheduler: Scheduler, runs: RunQueue) -> Iterator[None]:
    def stop(signum: int, frame: Any) -> None:
        _last_signal[0] = signum
        server.should_exit = True
        # from the handler's thread: no run may start, and the running one stops now
        threading.Thread(target=_halt, args=(scheduler, runs, signum), daemon=True).start()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _halt(scheduler: Scheduler, runs: RunQueue, signum: int) -> None:
    scheduler.stop()
    runs.stop(signum=signum)


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: a free port), made before server.json is
    written so that the file names the real port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ProjectError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
