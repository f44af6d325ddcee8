"""Continuous Kafka sources under ``headwater server``: a long-lived consumer per source
declared ``mode = "continuous"``, its messages loaded in micro-batches without a schedule.

Design (one writer): the stream's thread only reads. It keeps one consumer assigned at the
warehouse's offsets (:class:`~headwater.sources.kafka.stream.StreamReader`) and collects
messages; once it holds ``max_messages`` (default 10,000) or its first message has waited
``max_latency`` seconds, it cuts a micro-batch, offers it
(:mod:`headwater.sources.kafka.handoff`) and queues a run of the source's asset on the
server's run queue (trigger ``stream``). The queue's one worker runs it as any run: the
source step takes the offered messages if they were read after exactly the offsets the
warehouse holds and loads rows and offsets in one warehouse transaction. So a micro-batch
and a pipeline run never write the warehouse at once (they wait their turn in one queue),
each micro-batch is a run and a load (``headwater runs``, ``headwater loads``), and an
``on_assets`` trigger on the asset fires as after any run that built it. One micro-batch is
queued at a time; the next is collected meanwhile (bounded by ``max_messages``).

After a micro-batch's run the stream reads the warehouse's offsets again: if they are not
where the micro-batch ended (a run loaded the source itself, the run failed or was
cancelled) it seeks back to them and drops what it collected, so nothing is skipped or
loaded twice; a failed run is retried after a back-off. The broker's group offsets are
committed after each load, a display copy only.

Stopping: the server stops the streams first (no new micro-batch), then the run queue,
which cancels a running micro-batch as any run (its load commits whole or not at all).
On start each stream reads the offsets the warehouse holds. A broker that cannot be
reached is one warning line, then retries with back-off (1 s doubling to 30 s) and one
line when it answers again. Streams run on a server with its own metastore only (with a
shared one, another server could run the micro-batch without its messages).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from headwater.api.project import shared_engine
from headwater.errors import HeadwaterError
from headwater.project import Project
from headwater.project.asset import Asset
from headwater.server.runs import RunQueue, RunRequest

_log = logging.getLogger("headwater.server")
TRIGGER = "stream"  # the trigger recorded with a micro-batch's run
_BACKOFF = (1.0, 30.0)  # first and longest wait after a failure
_POLL = 0.2  # seconds a poll of the consumer waits for messages

_active: dict[Path, Streams] = {}  # project root -> its server's streams (GET /api/streams)


def continuous_sources(project: Project) -> list[Asset]:
    """The project's Kafka source assets declared ``mode = "continuous"``."""
    return [
        asset
        for asset in project.graph
        if asset.source is not None
        and asset.source.settings.kafka is not None
        and asset.source.settings.kafka.mode == "continuous"
    ]


def streams_status(project: Project) -> list[dict[str, Any]]:
    """Each stream of ``project``'s server: its state, lag and last micro-batch."""
    streams = _active.get(project.root.resolve())
    return [] if streams is None else [t.status.to_json() for t in streams.tasks]


@dataclass
class StreamStatus:
    """What ``GET /api/streams`` shows of one stream."""

    asset: str
    topics: list[str]
    state: str = "starting"  # running, broker unreachable, backing off, stopped
    lag: int | None = None  # messages on the brokers not yet in the warehouse
    collected: int = 0  # messages read, waiting for the next micro-batch
    batches: int = 0  # micro-batches loaded since the server started
    messages: int = 0  # messages they held
    last_batch: dict[str, Any] | None = None  # run_id, status, messages, finished_at
    error: str | None = None
    since: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _RunFailed(HeadwaterError):
    """A micro-batch's run did not succeed (``status``): back off, then read again from
    the warehouse's offsets."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Job:
    """A queued micro-batch: its run's end is awaited by the stream's thread."""

    def __init__(self, micro: Any) -> None:
        self.micro = micro
        self.run_id = ""
        self.status = ""
        self.done = threading.Event()

    def finish(self, run_id: str, status: str) -> None:
        self.run_id, self.status = run_id, status
        self.done.set()


class StreamTask:
    """One continuous source's consumer thread (see the module's docstring)."""

    def __init__(self, project: Project, asset: Asset, runs: RunQueue) -> None:
        spec = asset.source
        assert spec is not None and spec.settings.kafka is not None
        self.project, self.asset, self.runs = project, asset, runs
        self.kafka = spec.settings.kafka
        self.status = StreamStatus(asset.name, list(self.kafka.topics))
        self._stop = threading.Event()
        self._said: str | None = None  # the trouble last logged (said once, not each retry)
        self._thread = threading.Thread(
            target=self._loop, name=f"hw-stream-{asset.name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 6.0) -> None:
        # the thread writes nothing: a stop waits at most for a connection attempt
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.status.state = "stopped"

    def _loop(self) -> None:
        wait = _BACKOFF[0]
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self._consume()
            except _RunFailed as exc:
                self._trouble("backing off", exc.status, shown=str(exc))
            except HeadwaterError as exc:
                self._trouble("backing off", str(exc).splitlines()[0])
            except Exception as exc:  # a bug must not end the stream silently
                self._trouble("backing off", f"internal error: {type(exc).__name__}: {exc}")
            if time.monotonic() - began > 2 * _BACKOFF[1]:  # it had recovered meanwhile
                wait = _BACKOFF[0]
            if self._stop.wait(wait):
                return
            wait = min(wait * 2, _BACKOFF[1])

    def _consume(self) -> None:
        """Read and queue micro-batches until stopped; raises on a failure to back off."""
        from headwater.sources.kafka.stream import StreamReader

        spec = self.asset.source
        assert spec is not None and spec.settings.connection is not None
        reader = StreamReader(
            settings=self.project.settings, source=spec.source,
            connection=spec.settings.connection, kafka=self.kafka, log=_log,
        )  # fmt: skip
        job: _Job | None = None
        try:
            reader.open(self._warehouse_offsets())
            self._fine()
            last_probe = time.monotonic()
            while not self._stop.is_set():
                if job is None or len(reader) < reader.size:
                    reader.poll(_POLL)
                else:  # full: wait for the queued micro-batch before reading more
                    job.done.wait(_POLL)
                if reader.down is not None:
                    self._trouble("broker unreachable", reader.down)
                    if time.monotonic() - last_probe > _BACKOFF[1] / 3:
                        last_probe = time.monotonic()
                        reader.reachable()
                elif self.status.state != "running":
                    self._fine()
                if job is not None and job.done.is_set():
                    self._settle(job, reader)
                    job = None
                if job is None and reader.ready(self.kafka.max_latency):
                    job = self._queue(reader)
                self.status.collected = len(reader)
                self.status.lag = reader.lag()
        finally:
            if job is not None:
                from headwater.sources.kafka.handoff import withdraw

                withdraw(self.asset.name, job.micro)
            reader.close()

    def _queue(self, reader: Any) -> _Job | None:
        """Cut a micro-batch, offer it and queue its run (None: the server is stopping)."""
        from headwater.sources.kafka.handoff import offer, withdraw

        job = _Job(reader.cut())
        offer(self.asset.name, job.micro)
        request = RunRequest([self.asset.name], trigger=TRIGGER, on_done=job.finish)
        request.reason = f"{len(job.micro.batch)} messages of {', '.join(self.kafka.topics)}"
        try:
            self.runs.submit(request)
        except HeadwaterError:  # stopping: the warehouse keeps its offsets, read on restart
            withdraw(self.asset.name, job.micro)
            self._stop.set()
            return None
        return job

    def _settle(self, job: _Job, reader: Any) -> None:
        """After a micro-batch's run: go on after it if the warehouse holds its offsets,
        else seek back to the warehouse's (raising to back off when the run failed)."""
        from headwater.sources.kafka.handoff import withdraw

        withdraw(self.asset.name, job.micro)
        known = self._warehouse_offsets()
        self.status.last_batch = {
            "run_id": job.run_id, "status": job.status, "messages": len(job.micro.batch),
            "finished_at": datetime.now(UTC).isoformat(),
        }  # fmt: skip
        if job.status == "success" and known == job.micro.offsets():
            reader.loaded(job.micro)
            reader.commit_display_copy(job.micro)
            self.status.batches += 1
            self.status.messages += len(job.micro.batch)
            return
        if job.status == "success":  # loaded by another run meanwhile: go on from there
            reader.open(known)
            return
        if not self._stop.is_set():
            raise _RunFailed(job.status, f"micro-batch run {job.run_id} {job.status}")

    def _warehouse_offsets(self) -> dict[str, dict[str, int]]:
        from headwater.sources.kafka import OFFSETS

        engine = shared_engine(self.project)
        assert engine is not None  # the server holds the warehouse open
        if not engine.exists("_headwater", "state"):  # a new warehouse: nothing loaded yet
            return {}
        offsets: dict[str, dict[str, int]] = engine.read_state(self.asset.name).get(OFFSETS, {})
        return offsets

    def _trouble(self, state: str, why: str, *, shown: str | None = None) -> None:
        """Say ``why`` (as ``shown``) once, not once per retry."""
        self.status.state, self.status.error = state, shown or why
        if why != self._said:
            self._said = why
            _log.warning("stream %s: %s (retrying)", self.asset.name, shown or why)

    def _fine(self) -> None:
        if self._said is not None:
            _log.info("stream %s: reading again", self.asset.name)
        self._said = None
        self.status.state, self.status.error = "running", None


class Streams:
    """The continuous sources of ``project``, each on its own thread, queuing their
    micro-batches on ``runs``."""

    def __init__(self, project: Project, runs: RunQueue) -> None:
        self.project = project
        self.tasks = [StreamTask(project, a, runs) for a in continuous_sources(project)]

    def start(self) -> None:
        _active[self.project.root.resolve()] = self
        for task in self.tasks:
            task.start()
        if self.tasks:
            _log.info("streams: %s", ", ".join(t.asset.name for t in self.tasks))

    def stop(self) -> None:
        """Queue no more micro-batches and close the consumers (a queued or running one is
        the run queue's to finish or drop)."""
        for task in self.tasks:
            task._stop.set()
        for task in self.tasks:
            task.stop()
