"""Exactly once under crashes: `headwater run` processes killed with SIGKILL while they
load a Kafka topic, then run again until caught up: every message is in the warehouse
exactly once. The consumer group's offsets on the broker are never read back."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from headwater.testing.cli import invoke, query_warehouse, write_project
from headwater.testing.kafka import TansuBroker

HEADWATER = str(Path(sys.executable).parent / "headwater")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    with TansuBroker(tmp_path_factory.mktemp("tansu") / "tansu.log") as b:
        yield b


def _project(root: Path, broker: TansuBroker, topic: str, max_messages: int) -> Path:
    return write_project(
        root,
        {
            "headwater.toml": f"""
[connections.bus]
url = "{broker.url}"

[sources.events]
connection = "bus"

[sources.events.kafka]
topics = ["{topic}"]
group = "crash-test"
max_messages = {max_messages}
"""
        },
    )


def _loaded(root: Path) -> tuple[int, int, int]:
    if not (root / ".headwater" / "warehouse.duckdb").exists():
        return (0, 0, 0)
    try:
        rows = query_warehouse(
            root,
            "select count(*), count(distinct (_kafka_partition, _kafka_offset)), "
            "count(distinct id) from raw.events",
        )
    except Exception:  # no table yet
        return (0, 0, 0)
    return rows[0]


def _logs_say(root: Path, text: str) -> bool:
    return any(text in p.read_text(errors="replace") for p in (root / ".headwater").rglob("*.log"))


def test_sigkill_mid_load_then_rerun_loads_every_message_exactly_once(
    tmp_path: Path, broker: TansuBroker
) -> None:
    total = 150_000  # 10 runs' worth: enough left to load for every attempt below
    broker.create_topic("crashy", partitions=3)
    values = [json.dumps({"id": i, "payload": "x" * 40}).encode() for i in range(total)]
    broker.produce("crashy", values, keys=[str(i).encode() for i in range(total)])
    root = _project(tmp_path / "p", broker, "crashy", max_messages=15_000)
    # short delays kill inside the read or the load; long ones after the warehouse commit
    # (while the display copy is committed to the broker, or the run records its end)
    # then short ones until two kills have landed mid-load (how many attempts that takes
    # depends on the machine's speed)
    delays = [0.1, 3.0, 0.3, 3.0, 0.6, 3.0, 0.05, 0.2, 0.4, 0.05, 0.2, 0.4]
    mid_load = 0
    progress = [(0, 0, 0)]
    for attempt, delay in enumerate(delays):
        if attempt >= 6 and mid_load >= 2:
            break
        for log in (root / ".headwater").rglob("*.log"):
            log.unlink()
        proc = subprocess.Popen(
            [HEADWATER, "run", "-p", str(root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not _logs_say(root, "reading topics") and time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        time.sleep(delay)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        progress.append(_loaded(root))
        count, distinct, _ = progress[-1]
        assert count == distinct  # never a message twice, even right after a kill
        mid_load += killed and progress[-1] == progress[-2]
    assert mid_load >= 2, progress  # killed while reading or loading: nothing of it kept
    for _ in range(20):  # then run to the end
        result = invoke("run", "-p", str(root))
        assert result.exit_code == 0, result.output
        if _loaded(root)[0] == total:
            break
    assert _loaded(root) == (total, total, total)
    result = invoke("run", "-p", str(root))  # caught up: nothing more
    assert result.exit_code == 0
    assert _loaded(root) == (total, total, total)


def test_the_broker_offsets_are_never_read_back(tmp_path: Path, broker: TansuBroker) -> None:
    broker.create_topic("shown", partitions=1)
    broker.produce("shown", [json.dumps({"id": i}).encode() for i in range(10)])
    root = _project(tmp_path / "p", broker, "shown", max_messages=1000)
    assert invoke("run", "-p", str(root)).exit_code == 0
    broker.produce("shown", [json.dumps({"id": i}).encode() for i in range(10, 15)])
    # the group's offset moved back on the broker (as after a crash between the warehouse
    # commit and the display commit, or a reset by hand): the warehouse's offset is read
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "crash-test",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.commit(offsets=[TopicPartition("shown", 0, 3)], asynchronous=False)
    finally:
        consumer.close()
    assert invoke("run", "-p", str(root)).exit_code == 0
    assert query_warehouse(root, "select count(*), count(distinct id) from raw.events") == [
        (15, 15)
    ]
