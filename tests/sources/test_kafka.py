"""Kafka topics as a source, against a real Kafka-protocol broker (Tansu) on 127.0.0.1:
JSON messages with their key, partition, offset and timestamp; a bounded batch per run
that resumes at the warehouse's offsets; a JSON Schema contract; one-line errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from headwater.testing.cli import invoke, query_warehouse, write_project
from headwater.testing.kafka import TansuBroker


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    with TansuBroker(tmp_path_factory.mktemp("tansu") / "tansu.log") as b:
        yield b


def _project(
    root: Path,
    broker: TansuBroker,
    topic: str,
    extra: str = "",
    files: dict[str, str] | None = None,
) -> Path:
    toml = f"""
[connections.bus]
url = "{broker.url}"

[sources.events]
connection = "bus"
{extra}

[sources.events.kafka]
topics = ["{topic}"]
group = "hw-test"
"""
    return write_project(root, {"headwater.toml": toml, **(files or {})})


def _messages(n: int, start: int = 0) -> list[bytes]:
    return [
        json.dumps({"id": i, "name": f"n{i}", "amount": i * 1.5}).encode()
        for i in range(start, start + n)
    ]


def test_messages_load_once_with_their_kafka_columns(tmp_path: Path, broker: TansuBroker) -> None:
    broker.create_topic("orders", partitions=3)
    broker.produce("orders", _messages(300), keys=[str(i).encode() for i in range(300)])
    root = _project(tmp_path / "p", broker, "orders")

    first = invoke("run", "-p", str(root))
    assert first.exit_code == 0, first.output
    rows = query_warehouse(
        root,
        "select count(*), count(distinct id), sum(amount), count(distinct _kafka_partition), "
        "min(_kafka_key), max(_kafka_timestamp) is not null from raw.events",
    )
    assert rows == [(300, 300, sum(i * 1.5 for i in range(300)), 3, "0", True)]
    # each row's key, partition and offset are the message's
    per_partition = query_warehouse(
        root,
        "select _kafka_partition, min(_kafka_offset), max(_kafka_offset), count(*) "
        "from raw.events group by 1 order by 1",
    )
    assert all(lo == 0 and hi == n - 1 for _, lo, hi, n in per_partition)

    # nothing new: nothing loaded again
    assert invoke("run", "-p", str(root)).exit_code == 0
    assert query_warehouse(root, "select count(*) from raw.events") == [(300,)]

    # new messages: only they are loaded
    broker.produce("orders", _messages(50, start=300))
    assert invoke("run", "-p", str(root)).exit_code == 0
    assert query_warehouse(root, "select count(*), count(distinct id) from raw.events") == [
        (350, 350)
    ]

    # the consumer group's offsets on the broker are the warehouse's (a display copy)
    state = query_warehouse(root, "select state from _headwater.state where asset = 'raw.events'")
    offsets = json.loads(state[0][0])["offsets"]["orders"]
    assert sum(offsets.values()) == 350
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "hw-test"})
    try:
        committed = consumer.committed([TopicPartition("orders", p) for p in range(3)], timeout=15)
    finally:
        consumer.close()
    assert {str(tp.partition): tp.offset for tp in committed} == offsets


def test_max_messages_bounds_each_run(tmp_path: Path, broker: TansuBroker) -> None:
    broker.create_topic("clicks", partitions=2)
    broker.produce("clicks", _messages(250))
    root = _project(tmp_path / "p", broker, "clicks")
    toml = root / "headwater.toml"
    toml.write_text(toml.read_text() + "max_messages = 100\n")
    counts = []
    for _ in range(4):
        assert invoke("run", "-p", str(root)).exit_code == 0
        counts.append(
            query_warehouse(root, "select count(*), count(distinct id) from raw.events")[0]
        )
    assert counts == [(100, 100), (200, 200), (250, 250), (250, 250)]


def test_json_schema_types_columns_and_bad_messages_fail_or_are_recorded(
    tmp_path: Path, broker: TansuBroker
) -> None:
    broker.create_topic("payments", partitions=1)
    good = [
        json.dumps({"id": i, "paid_at": "2026-01-02T03:04:05Z", "amount": 2}).encode()
        for i in range(3)
    ]
    broker.produce("payments", [*good[:2], b'{"id": "seven"}', b"not json", good[2]])
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "paid_at": {"type": "string", "format": "date-time"},
            "amount": {"type": "number"},
        },
        "required": ["id"],
    }
    files = {"schemas/payment.json": json.dumps(schema)}
    root = _project(tmp_path / "p", broker, "payments", files=files)
    toml = root / "headwater.toml"
    toml.write_text(toml.read_text() + 'json_schema = "schemas/payment.json"\n')

    failed = invoke("run", "-p", str(root))
    assert failed.exit_code == 5, failed.output
    assert (
        "topic 'payments' partition 0 offset 2: id: 'seven' is not of type 'integer'"
        in failed.output
    )
    assert "(and 1 more)" in failed.output
    assert "Traceback" not in failed.output

    toml.write_text(toml.read_text() + 'on_bad_message = "skip_and_record"\n')
    assert invoke("run", "-p", str(root)).exit_code == 0
    rows = query_warehouse(
        root,
        "select id, typeof(paid_at), typeof(amount) from raw.events order by id",
    )
    assert rows == [(i, "TIMESTAMP WITH TIME ZONE", "DOUBLE") for i in range(3)]
    rejected = query_warehouse(
        root, "select file, line, error from _headwater.rejected_rows order by line"
    )
    assert [(f, line) for f, line, _ in rejected] == [("payments/0", 2), ("payments/0", 3)]
    assert rejected[1][2].startswith("not JSON")


def test_unreachable_broker_and_missing_topic_are_one_line(
    tmp_path: Path, broker: TansuBroker
) -> None:
    root = _project(tmp_path / "p", broker, "no_such_topic")
    missing = invoke("run", "-p", str(root))
    assert missing.exit_code == 5
    assert (
        f"connection 'bus': topic 'no_such_topic' does not exist on {broker.bootstrap}"
        in missing.output
    )

    from headwater.testing.servers import free_port

    down = write_project(
        tmp_path / "down",
        {
            "headwater.toml": f"""
[connections.bus]
url = "kafka://alice:s3cret-pw@127.0.0.1:{free_port()}"

[sources.events]
connection = "bus"

[sources.events.kafka]
topics = ["x"]
"""
        },
    )
    result = invoke("run", "-p", str(down))
    assert result.exit_code == 5
    assert "connection 'bus': cannot reach the Kafka brokers 127.0.0.1:" in result.output
    assert "s3cret-pw" not in result.output
    logs = "".join(p.read_text() for p in (down / ".headwater").rglob("*.log"))
    assert "s3cret-pw" not in logs


def test_start_latest_skips_what_was_there_before_the_first_run(
    tmp_path: Path, broker: TansuBroker
) -> None:
    broker.create_topic("late", partitions=2)
    broker.produce("late", _messages(5))
    root = _project(tmp_path / "p", broker, "late")
    toml = root / "headwater.toml"
    toml.write_text(toml.read_text() + 'start = "latest"\n')
    assert invoke("run", "-p", str(root)).exit_code == 0
    assert query_warehouse(root, "select count(*) from raw.events") == [(0,)]
    broker.produce("late", _messages(3, start=100))
    assert invoke("run", "-p", str(root)).exit_code == 0
    assert query_warehouse(root, "select id from raw.events order by id") == [
        (100,),
        (101,),
        (102,),
    ]


def test_kafka_settings_are_checked_where_they_are_written(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "headwater.toml": """
[connections.bus]
url = "kafka://127.0.0.1:9"

[sources.events]
connection = "bus"
files = "x/*.csv"

[sources.events.kafka]
topics = ["t"]
"""
        },
    )
    result = invoke("graph", "-p", str(root))
    assert result.exit_code == 2
    assert "sources.events.files: not read by a Kafka source" in result.output
    (root / "headwater.toml").write_text(
        '[project]\nname = "t"\n[sources.events.kafka]\ntopics = ["t"]\nmax_messages = 0\n'
    )
    result = invoke("graph", "-p", str(root))
    assert result.exit_code == 2
    assert "sources.events.kafka.max_messages" in result.output
