"""Load a Kafka source: a bounded batch of its topics' messages, exactly once.

The offsets are the warehouse's: the asset's state holds, per topic and partition, the
next offset to read, and it commits in the same transaction as the rows. A run assigns
itself every partition (no group join, no rebalance) at the offsets the warehouse holds,
reads up to the end offsets seen when it started (or ``max_messages``), and loads rows and
offsets together; only then does it commit the same offsets to the broker under the
consumer group, a copy for lag monitoring that is never read back. A crash before the
warehouse commit leaves rows and offsets as they were (the messages are read again); a
crash after it leaves them both advanced. No message is lost or loaded twice.

Under ``headwater server`` a continuous source's messages are read by the server's stream
(:mod:`.stream`) and handed over (:mod:`.handoff`): the load takes them only if they were
read after exactly the offsets the warehouse holds, and writes them in the same single
transaction.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from headwater.config.secrets import interpolate_url
from headwater.config.settings import ProjectSettings
from headwater.config.streams import KafkaSettings
from headwater.engines.base import Engine, LoadRequest, LoadResult
from headwater.engines.screen import WithReads, reads_of
from headwater.errors import SourceError
from headwater.sources.kafka.client import (
    client_config,
    open_consumer,
    reason,
    servers,
    topic_partitions,
)
from headwater.sources.kafka.handoff import Where, as_state, take
from headwater.sources.kafka.records import BadMessage, Batch, PayloadSchema, to_table

OFFSETS = "offsets"  # state: {"topic": {"partition": next offset}}
_CHUNK = 10_000  # messages asked of the client at a time
_NOTHING = LoadResult(rows_read=0, rows_written=0, rows_rejected=0, cursor_max=None)


def load_kafka(
    asset: str,
    base: LoadRequest,
    *,
    engine: Engine,
    settings: ProjectSettings,
    source: str,
    connection: str,
    kafka: KafkaSettings,
    root: Path,
    state: dict[str, Any],
    log: logging.Logger,
) -> LoadResult:
    """Read the next batch of ``kafka``'s topics and load it with its offsets."""
    schema = PayloadSchema(root / kafka.json_schema) if kafka.json_schema else None
    known = state.get(OFFSETS, {})
    micro = take(asset, known)  # read by the server's stream (sources/kafka/stream.py)
    if micro is not None:
        log.info(
            "loading %d messages of topics %s read by the server's stream",
            len(micro.batch), ", ".join(kafka.topics),
        )  # fmt: skip
        loaded = _load(asset, base, engine, micro.batch, micro.offsets(), state, kafka, schema, log)
        return loaded or _NOTHING  # the stream commits the display copy
    url = interpolate_url(settings.connections[connection].url, where=f"connection {connection!r}")
    config = client_config(url, name=connection)
    group = kafka.group or f"headwater.{source}"
    log.info(
        "reading topics %s from %s (group %s)", ", ".join(kafka.topics), servers(config), group
    )
    consumer = open_consumer(config, group, name=connection, log=log)
    try:
        batch, after = _read(consumer, kafka, state, connection, servers(config), log)
        result = _load(asset, base, engine, batch, as_state(after), state, kafka, schema, log)
        if result is None:
            return _NOTHING
        _commit_display_copy(consumer, as_state(after), connection, log)
        return result
    finally:
        consumer.close()


def _load(
    asset: str,
    base: LoadRequest,
    engine: Engine,
    batch: Batch,
    offsets: dict[str, dict[str, int]],
    state: dict[str, Any],
    kafka: KafkaSettings,
    schema: PayloadSchema | None,
    log: logging.Logger,
) -> LoadResult | None:
    """Load ``batch`` with ``offsets`` (the partitions' next offsets after it) in one
    transaction; None (nothing loaded) when there is nothing new."""
    table = to_table(batch, schema, where=asset)
    _handle_bad(asset, batch.bad, kafka, log)
    if not len(batch) and not batch.bad and offsets == state.get(OFFSETS):
        log.info("no new message")
        return None
    request = replace(
        base,
        batches=pa.RecordBatchReader.from_batches(table.schema, table.to_batches()),
        state={**state, OFFSETS: offsets},
        screen=_recording(batch.bad, base) if batch.bad else base.screen,
    )
    return engine.load(asset, request)  # rows and offsets: one transaction


def _read(
    consumer: Any,
    kafka: KafkaSettings,
    state: dict[str, Any],
    connection: str,
    servers_: str,
    log: logging.Logger,
) -> tuple[Batch, Where]:
    """The batch and the offsets after it; a client failure is one line (connection,
    topics)."""
    from confluent_kafka import KafkaException

    try:
        where = positions(consumer, kafka, state.get(OFFSETS, {}), connection, servers_, log)
        return _consume(consumer, where, kafka, connection)
    except KafkaException as exc:
        topics = ", ".join(kafka.topics)
        raise SourceError(
            f"connection {connection!r} ({servers_}) topics {topics}: {reason(exc)}",
            transient=True,
        ) from None


def positions(
    consumer: Any,
    kafka: KafkaSettings,
    known: dict[str, dict[str, int]],
    connection: str,
    servers_: str,
    log: logging.Logger,
    *,
    timeout: float = 15.0,
) -> Where:
    """Each partition's next offset: the warehouse's, else ``start``. A warehouse offset
    below the partition's first one (retention deleted messages never loaded) is said in
    the log and reading starts at the first one. ``timeout``: seconds to wait for the
    brokers' metadata."""
    where: Where = {}
    latest: list[tuple[str, int]] = []
    for topic, partitions in topic_partitions(
        consumer, kafka.topics, name=connection, servers_=servers_, timeout=timeout
    ).items():
        where[topic] = {}
        for p in partitions:
            low, high = _watermarks(consumer, topic, p, connection)
            stored = known.get(topic, {}).get(str(p))
            if stored is None:
                offset = low if kafka.start == "earliest" else high
                if kafka.start == "latest":
                    latest.append((topic, p))
            elif stored < low:
                log.warning(
                    "topic %r partition %d: offsets %d..%d were deleted by the broker before "
                    "they were loaded; reading from %d",
                    topic, p, stored, low - 1, low,
                )  # fmt: skip
                offset = low
            else:
                offset = stored
            where[topic][p] = offset
    for (topic, p), end in _fetched_ends(consumer, where, latest, kafka.idle_timeout).items():
        where[topic][p] = max(where[topic][p], end)
    return where


def _fetched_ends(
    consumer: Any, where: Where, partitions: list[tuple[str, int]], timeout: float
) -> dict[tuple[str, int], int]:
    """The end offset of ``partitions`` as a fetch reports it (see :func:`_consume` on
    brokers whose ListOffsets answer falls short of the end): fetch once from the offset
    ListOffsets gave, read the high watermark the fetch brought back, read nothing."""
    from confluent_kafka import TopicPartition

    if not partitions:
        return {}
    consumer.assign([TopicPartition(t, p, where[t][p]) for t, p in partitions])
    ends: dict[tuple[str, int], int] = {}
    deadline = time.monotonic() + timeout
    while len(ends) < len(partitions) and time.monotonic() < deadline:
        for message in consumer.consume(num_messages=_CHUNK, timeout=0.5):
            key = (message.topic(), message.partition())
            if key not in ends:
                _, high = consumer.get_watermark_offsets(TopicPartition(*key), cached=True)
                if high >= 0:
                    ends[key] = high
    consumer.unassign()
    return ends


def _watermarks(consumer: Any, topic: str, partition: int, connection: str) -> tuple[int, int]:
    from confluent_kafka import TopicPartition

    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=15)
    except Exception as exc:
        raise SourceError(
            f"connection {connection!r}: topic {topic!r} partition {partition}: cannot read "
            f"its offsets: {exc}",
            transient=True,
        ) from None
    return int(low), int(high)


def _consume(
    consumer: Any, where: Where, kafka: KafkaSettings, connection: str
) -> tuple[Batch, Where]:
    """Read every partition up to its end (at most ``max_messages`` in all); return the
    messages and each partition's next offset after them.

    A partition's end is the high watermark its first fetch reported: messages produced
    while the run reads are left to the next run. It is taken from the fetch, not from a
    ListOffsets request, which some Kafka-protocol brokers (Tansu 0.6) answer with the last
    record batch's base offset; a partition with nothing new ends at the client's
    end-of-partition event."""
    from confluent_kafka import KafkaError, TopicPartition

    after: Where = {t: dict(parts) for t, parts in where.items()}
    consumer.assign(
        [TopicPartition(t, p, o) for t, parts in where.items() for p, o in parts.items()]
    )
    batch = Batch()
    limit = kafka.max_messages
    pending = {(t, p) for t, parts in where.items() for p in parts}
    ends: dict[tuple[str, int], int] = {}
    idle_since = time.monotonic()
    while pending and (limit is None or len(batch) < limit):
        want = _CHUNK if limit is None else min(_CHUNK, limit - len(batch))
        messages = consumer.consume(num_messages=want, timeout=0.5)
        if not messages and time.monotonic() - idle_since > kafka.idle_timeout:
            break  # the broker answers no fetch: the next run goes on from here
        idle_since = time.monotonic() if messages else idle_since
        for message in messages:
            topic, p, offset = message.topic(), message.partition(), message.offset()
            error = message.error()
            if error is not None and error.code() == KafkaError._PARTITION_EOF:
                pending.discard((topic, p))
                continue
            if error is not None:
                raise SourceError(
                    f"connection {connection!r}: topic {topic!r} partition {p}: {error.str()}",
                    transient=error.retriable(),
                )
            if (topic, p) not in pending:
                continue  # beyond the batch: read by the next run
            end = ends.get((topic, p))
            if end is None:
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), cached=True)
                end = ends[(topic, p)] = high if high >= 0 else 1 << 62
            if offset >= end:
                pending.discard((topic, p))
                continue
            batch.add(message)
            after[topic][p] = offset + 1
            if offset + 1 >= end:
                pending.discard((topic, p))
    return batch, after


def _handle_bad(
    asset: str, bad: list[BadMessage], kafka: KafkaSettings, log: logging.Logger
) -> None:
    if not bad:
        return
    if kafka.on_bad_message == "fail":
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise SourceError(f"{asset}: {bad[0].describe()}{more}")
    log.warning("%d messages skipped and recorded in _headwater.rejected_rows", len(bad))


def _recording(bad: list[BadMessage], base: LoadRequest) -> Any:
    """A screen hook that records ``bad`` in ``_headwater.rejected_rows`` (inside the load's
    transaction, so they commit with the offsets that skip them), then runs the asset's."""

    def screen(cur: Any, staged: str) -> Any:
        cur.executemany(
            "insert into _headwater.rejected_rows values (?, ?, ?, ?, null, ?, ?)",
            [
                [base.load_id, f"{base.schema}.{base.table}", f"{b.topic}/{b.partition}",
                 b.offset, b.error, b.raw]
                for b in bad
            ],
        )  # fmt: skip
        if base.screen is not None:
            return base.screen(cur, staged)
        return None

    # the asset's screen says which other tables its relationships checks read (an engine
    # screening outside the warehouse shows them): the wrapper must say it too
    return WithReads(screen, reads_of(base.screen))


def _commit_display_copy(
    consumer: Any, offsets: dict[str, dict[str, int]], connection: str, log: logging.Logger
) -> None:
    """The loaded offsets, committed to the broker for lag monitoring (never read back:
    a failure here loses nothing)."""
    from confluent_kafka import TopicPartition

    parts = [TopicPartition(t, int(p), o) for t, ps in offsets.items() for p, o in ps.items()]
    try:
        consumer.commit(offsets=parts, asynchronous=False)
    except Exception as exc:
        log.warning(
            "connection %r: the consumer group's offsets were not updated: %s", connection, exc
        )
