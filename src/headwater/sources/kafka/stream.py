"""A Kafka source read continuously: one long-lived consumer that collects the messages
after the warehouse's offsets and cuts them into micro-batches, handed to the load that
writes them by :mod:`.handoff`.

The reader writes nothing. A micro-batch records the warehouse's offsets it was read after
and the offsets after it; :func:`~headwater.sources.kafka.load.load_kafka` loads an offered
micro-batch only when the warehouse's offsets, read in the load's own transaction, are
exactly those, else it drops it and reads the topic itself as in a bounded run. So the exactly-once guarantee is the load's (rows and offsets in one warehouse
transaction), whoever reads the messages, and a micro-batch that went stale (a run loaded
the source in between, ``--full-refresh``) is never loaded.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from headwater.config.secrets import interpolate_url
from headwater.config.settings import ProjectSettings
from headwater.config.streams import KafkaSettings
from headwater.errors import SourceError
from headwater.sources.kafka.client import client_config, open_consumer, reason, servers
from headwater.sources.kafka.handoff import MicroBatch, Offsets, Where
from headwater.sources.kafka.load import positions
from headwater.sources.kafka.records import Batch

DEFAULT_SIZE = 10_000  # messages per micro-batch without max_messages
# seconds to wait for the brokers' metadata when (re)connecting: short, the stream retries
# with back-off, and the server's stop waits for it
_METADATA_TIMEOUT = 5.0


class StreamReader:
    """A consumer of ``kafka``'s topics assigned at the warehouse's offsets, collecting
    messages until :meth:`cut`. Not thread-safe: one thread (the stream's) uses it.

    ``down`` holds the client's last error while the brokers are unreachable (librdkafka
    reconnects by itself; the reader says when it reads again)."""

    def __init__(
        self,
        *,
        settings: ProjectSettings,
        source: str,
        connection: str,
        kafka: KafkaSettings,
        log: logging.Logger,
    ) -> None:
        url = interpolate_url(
            settings.connections[connection].url, where=f"connection {connection!r}"
        )
        self.config = client_config(url, name=connection)
        self.servers = servers(self.config)
        self.kafka = kafka
        self.connection = connection
        self.group = kafka.group or f"headwater.{source}"
        self.size = kafka.max_messages or DEFAULT_SIZE
        self.down: str | None = None
        self._log = log
        self._consumer: Any = None
        self._batch = Batch()
        self._first_at: float | None = None
        self.position: Where = {}  # next offset to read, per partition
        self.committed: Where = {}  # where the warehouse's offsets put each partition
        self.base: Offsets = {}  # the warehouse's offsets as its state holds them

    def open(self, known: Offsets) -> None:
        """Connect and assign every partition at ``known`` (the warehouse's offsets;
        ``start`` for a partition it never loaded). ConnectionError_ (transient) when the
        brokers cannot be reached."""
        from confluent_kafka import TopicPartition

        self.close()
        self._consumer = open_consumer(
            {**self.config, "error_cb": self._error}, self.group, name=self.connection,
            log=self._log,
        )  # fmt: skip
        where = positions(
            self._consumer, self.kafka, known, self.connection, self.servers, self._log,
            timeout=_METADATA_TIMEOUT,
        )  # fmt: skip
        self._consumer.assign(
            [TopicPartition(t, p, o) for t, parts in where.items() for p, o in parts.items()]
        )
        self.position = {t: dict(parts) for t, parts in where.items()}
        self.committed = {t: dict(parts) for t, parts in where.items()}
        self.base = {t: dict(parts) for t, parts in known.items()}
        self._batch, self._first_at = Batch(), None

    def poll(self, timeout: float) -> int:
        """Collect what arrives within ``timeout`` seconds (up to the micro-batch's size);
        the number of messages added. SourceError for a partition's error that is not
        the brokers being unreachable."""
        from confluent_kafka import KafkaError

        room = self.size - len(self._batch)
        if room <= 0:
            time.sleep(timeout)
            return 0
        added = 0
        for message in self._consumer.consume(num_messages=min(room, 10_000), timeout=timeout):
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                if error.code() == KafkaError._ALL_BROKERS_DOWN:
                    self.down = error.str()
                    continue
                raise SourceError(
                    f"connection {self.connection!r}: topic {message.topic()!r} partition "
                    f"{message.partition()}: {error.str()}",
                    transient=error.retriable(),
                )
            self._batch.add(message)
            self.position[message.topic()][message.partition()] = message.offset() + 1
            added += 1
        if added:
            self.down = None
            self._first_at = self._first_at or time.monotonic()
        return added

    def reachable(self) -> bool:
        """Whether the brokers answer now (asked while :attr:`down`)."""
        try:
            self._consumer.list_topics(timeout=2)
        except Exception:
            return False
        self.down = None
        return True

    def __len__(self) -> int:
        return len(self._batch)

    def ready(self, max_latency: float) -> bool:
        """Whether to cut: the micro-batch is full, or its first message has waited
        ``max_latency`` seconds."""
        if not len(self._batch):
            return False
        assert self._first_at is not None
        return len(self._batch) >= self.size or time.monotonic() - self._first_at >= max_latency

    def cut(self) -> MicroBatch:
        """The messages collected, from the warehouse's offsets to the reader's position."""
        micro = MicroBatch(
            self._batch,
            {t: dict(parts) for t, parts in self.base.items()},
            {t: dict(parts) for t, parts in self.position.items()},
        )
        self._batch, self._first_at = Batch(), None
        return micro

    def loaded(self, micro: MicroBatch) -> None:
        """``micro`` is in the warehouse: the next one starts after it."""
        self.committed = {t: dict(parts) for t, parts in micro.after.items()}
        self.base = micro.offsets()

    def lag(self) -> int | None:
        """Messages on the brokers not yet in the warehouse (from the high watermarks the
        last fetches reported); None before any is known."""
        from confluent_kafka import TopicPartition

        if self._consumer is None:
            return None
        total, known = 0, False
        for topic, parts in self.committed.items():
            for p, offset in parts.items():
                _, high = self._consumer.get_watermark_offsets(
                    TopicPartition(topic, p), cached=True
                )
                if high >= 0:
                    total, known = total + max(0, high - offset), True
        return total if known else None

    def commit_display_copy(self, micro: MicroBatch) -> None:
        """The loaded offsets, committed to the broker under the group for lag monitoring
        (never read back: a failure loses nothing)."""
        from confluent_kafka import TopicPartition

        parts = [TopicPartition(t, p, o) for t, ps in micro.after.items() for p, o in ps.items()]
        try:
            self._consumer.commit(offsets=parts, asynchronous=False)
        except Exception as exc:
            self._log.debug("the consumer group's offsets were not updated: %s", reason(exc))

    def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            try:
                consumer.close()
            except Exception as exc:  # closing a consumer of unreachable brokers
                self._log.debug("closing the consumer: %s", reason(exc))

    def _error(self, error: Any) -> None:
        # librdkafka's global errors (called from poll): every broker down is said once by
        # the stream, not once a second; a single connection dropped (an idle one closed
        # by the broker) is reconnected by librdkafka and is not news
        from confluent_kafka import KafkaError

        if error.code() == KafkaError._ALL_BROKERS_DOWN:
            self.down = error.str()
