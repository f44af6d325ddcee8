"""Continuous Kafka sources under ``headwater server`` (``mode = "continuous"``), against
a real Kafka-protocol broker (Tansu): messages produced while the server runs land without
a schedule or a trigger, each micro-batch a run and a load, an ``on_assets`` pipeline
follows them, a pipeline run meanwhile does not collide with the stream, SIGKILL or SIGTERM
and restart keep every message exactly once, a broker that cannot be reached is one line,
and without a server a run loads one bounded batch."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.sources.kafka import handoff
from headwater.sources.kafka.handoff import MicroBatch
from headwater.sources.kafka.records import Batch
from headwater.testing.cli import query_warehouse, write_project
from headwater.testing.kafka import TansuBroker
from headwater.testing.servers import free_port

HEADWATER = str(Path(sys.executable).parent / "headwater")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    with TansuBroker(tmp_path_factory.mktemp("tansu") / "tansu.log") as b:
        yield b


class _Server:
    """A ``headwater server`` process of ``root`` (its stderr in ``root/server.err``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.err = root / "server.err"
        with self.err.open("ab") as err:
            self.proc = subprocess.Popen(
                [HEADWATER, "server", "-p", str(root), "--port", "0"],
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        info = _wait(self._ready, timeout=30)
        self.client = httpx.Client(
            base_url=info["url"], headers={"Authorization": f"Bearer {info['token']}"}, timeout=30
        )

    def _ready(self) -> dict[str, Any] | None:
        assert self.proc.poll() is None, self.err.read_text()
        try:
            info = json.loads((self.root / ".headwater" / "server.json").read_text())
            if info["pid"] != self.proc.pid:
                return None
            httpx.get(info["url"] + "/api/health", timeout=1).raise_for_status()
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            return None
        return dict(info)

    def query(self, sql: str) -> list[list[Any]]:
        answer = self.client.post("/api/query", json={"sql": sql})
        answer.raise_for_status()
        rows: list[list[Any]] = answer.json()["rows"]
        return rows

    def count(self) -> tuple[int, int, int]:
        """Rows, distinct ids and distinct (partition, offset) of raw.events (0s before)."""
        try:
            row = self.query(
                "select count(*), count(distinct id), "
                "count(distinct (_kafka_partition, _kafka_offset)) from raw.events"
            )[0]
        except httpx.HTTPStatusError:  # no table yet
            return (0, 0, 0)
        return (row[0], row[1], row[2])

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(30)


@pytest.fixture
def servers() -> Iterator[list[_Server]]:
    started: list[_Server] = []
    yield started
    for server in started:
        if server.proc.poll() is None:
            server.stop(signal.SIGKILL)


def _wait(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s")


def _project(
    root: Path, url: str, topic: str, extra: str = "", files: dict[str, str] | None = None
) -> Path:
    toml = f"""
[connections.bus]
url = "{url}"

[sources.events]
connection = "bus"

[sources.events.kafka]
topics = ["{topic}"]
group = "hw-continuous"
mode = "continuous"
max_latency = 0.3
{extra}"""
    return write_project(root, {"headwater.toml": toml, **(files or {})})


def _messages(start: int, n: int) -> list[bytes]:
    return [json.dumps({"id": i, "name": f"n{i}"}).encode() for i in range(start, start + n)]


def _producing(
    broker: TansuBroker, topic: str, total: int, chunk: int, first: int = 0
) -> threading.Thread:
    """A thread producing ids first..total-1, ``chunk`` at a time, a short pause between."""

    def produce() -> None:
        for start in range(first, total, chunk):
            broker.produce(topic, _messages(start, min(chunk, total - start)))
            time.sleep(0.05)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    return thread


def test_messages_produced_while_the_server_runs_land_in_micro_batches(
    tmp_path: Path, broker: TansuBroker, servers: list[_Server]
) -> None:
    broker.create_topic("live", partitions=2)
    files = {
        "models/marts/event_count.sql": "select count(*) as n from raw.events\n",
        "models/marts/names.sql": "select id, upper(name) as name from raw.events\n",
    }
    toml_extra = (
        '\n[pipelines.report]\nselect = ["marts.event_count"]\non_assets = ["raw.events"]\n'
    )
    root = _project(tmp_path / "p", broker.url, "live", toml_extra, files)
    server = _Server(root)
    servers.append(server)

    # no schedule, no trigger: produced messages are in the warehouse within seconds
    broker.produce("live", _messages(0, 50))
    _wait(lambda: server.count() == (50, 50, 50), timeout=20)
    broker.produce("live", _messages(50, 30))
    _wait(lambda: server.count() == (80, 80, 80), timeout=10)

    # each micro-batch is a load and a run (trigger stream); the stream shows itself
    loads = server.client.get("/api/loads", params={"asset": "raw.events"}).json()
    assert len(loads) >= 2 and sum(ld["rows_read"] for ld in loads) == 80
    runs = server.client.get("/api/runs", params={"limit": 50}).json()
    assert {r["trigger"] for r in runs if r["status"] == "success"} >= {"stream"}
    stream = _wait(lambda: _stream_caught_up(server))
    assert stream["asset"] == "raw.events" and stream["topics"] == ["live"]
    assert stream["last_batch"]["status"] == "success" and stream["messages"] == 80

    # the on_assets pipeline downstream of the stream ran after a micro-batch
    _wait(lambda: _triggered_count(server), timeout=15)

    # a pipeline run (the source and its models) while the stream flows: both write in
    # turn through the server's one queue, nothing is lost or doubled
    producer = _producing(broker, "live", 3_000, 100)  # ids 0..2999 again, new offsets
    run = subprocess.run(
        [HEADWATER, "run", "-p", str(root)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "lock" not in (run.stdout + run.stderr).lower()
    producer.join(60)
    _wait(lambda: server.count()[2] == 3_080, timeout=20)
    rows, ids, positions = server.count()
    assert (rows, ids, positions) == (3_080, 3_000, 3_080)

    assert server.stop() == 0
    assert "Traceback" not in server.err.read_text()


def _stream_caught_up(server: _Server) -> dict[str, Any] | None:
    streams = server.client.get("/api/streams").json()
    assert len(streams) == 1
    found: dict[str, Any] = streams[0]
    return found if found["state"] == "running" and found["lag"] == 0 else None


def _triggered_count(server: _Server) -> bool:
    try:
        return bool(server.query("select n from marts.event_count")[0][0] > 0)
    except httpx.HTTPStatusError:  # not built yet
        return False


def test_sigkill_and_sigterm_mid_stream_then_restart_keep_every_message_exactly_once(
    tmp_path: Path, broker: TansuBroker, servers: list[_Server]
) -> None:
    total = 20_000
    broker.create_topic("killed", partitions=3)
    root = _project(tmp_path / "p", broker.url, "killed", "max_messages = 2000\n")
    server = _Server(root)
    servers.append(server)
    producer = _producing(broker, "killed", total // 2, 250)
    _wait(lambda: server.count()[0] > 0, timeout=15)
    assert producer.is_alive()  # killed while messages still arrive
    server.stop(signal.SIGKILL)

    # a stop while micro-batches flow finishes or abandons the one in hand, exit 0
    restarted = _Server(root)
    servers.append(restarted)
    producer.join(60)
    loaded = restarted.count()[0]
    producer = _producing(broker, "killed", total, 250, first=total // 2)
    _wait(lambda: restarted.count()[0] > max(loaded, total // 2), timeout=15)
    assert producer.is_alive()
    assert restarted.stop() == 0
    assert "Traceback" not in restarted.err.read_text()

    # the next start goes on from the warehouse's offsets
    last = _Server(root)
    servers.append(last)
    producer.join(60)
    _wait(lambda: last.count()[0] >= total, timeout=30)
    time.sleep(1)  # one more micro-batch would show a message loaded twice
    assert last.count() == (total, total, total)
    assert last.stop() == 0


def test_without_a_server_a_continuous_source_loads_one_bounded_batch(
    tmp_path: Path, broker: TansuBroker
) -> None:
    broker.create_topic("offline")
    root = _project(tmp_path / "p", broker.url, "offline")
    broker.produce("offline", _messages(0, 40))
    # the run reads what the topic held, loads it and ends: it does not wait for more
    run = subprocess.run(
        [HEADWATER, "run", "-p", str(root)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr
    rows = query_warehouse(root, "select count(distinct id), count(*) from raw.events")
    assert rows == [(40, 40)]


def _micro(base: dict[str, dict[str, int]], after: dict[str, dict[int, int]]) -> MicroBatch:
    return MicroBatch(Batch(), base, after)


def test_a_micro_batch_is_loaded_only_after_exactly_the_warehouse_s_offsets() -> None:
    base = {"t": {"0": 5, "1": 7}, "gone": {"0": 1}}
    micro = _micro(base, {"t": {0: 9, 1: 7}})
    # the asset's offsets once loaded: read partitions moved, the others kept
    assert micro.offsets() == {"t": {"0": 9, "1": 7}, "gone": {"0": 1}}

    # --full-refresh forgot the offsets (or a run moved them): dropped, never loaded
    handoff.offer("raw.a", micro)
    assert handoff.take("raw.a", {}) is None
    assert handoff.take("raw.a", base) is None  # taken once: gone
    handoff.offer("raw.a", micro)
    assert handoff.take("raw.a", {"t": {"0": 6, "1": 7}, "gone": {"0": 1}}) is None

    handoff.offer("raw.a", micro)
    assert handoff.take("raw.b", base) is None  # another asset's
    assert handoff.take("raw.a", base) is micro
    handoff.offer("raw.a", micro)
    handoff.withdraw("raw.a", micro)  # its run failed before its load
    assert handoff.take("raw.a", base) is None


def test_an_unreachable_broker_is_one_line_and_the_server_serves_on(
    tmp_path: Path, servers: list[_Server]
) -> None:
    root = _project(tmp_path / "p", f"kafka://bob:pw-s3cret@127.0.0.1:{free_port()}", "gone")
    server = _Server(root)
    servers.append(server)
    stream = _wait(lambda: server.client.get("/api/streams").json()[0]["error"], timeout=30)
    assert "cannot reach the Kafka brokers 127.0.0.1:" in stream
    time.sleep(4)  # several retries
    assert server.client.get("/api/health").status_code == 200
    assert server.stop() == 0
    err = server.err.read_text()
    lines = [line for line in err.splitlines() if "stream raw.events" in line]
    assert len(lines) == 1, err
    assert "pw-s3cret" not in err and "Traceback" not in err
