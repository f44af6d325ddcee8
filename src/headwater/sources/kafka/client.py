"""A Kafka connection: its URL as librdkafka settings, and a consumer on it.

``kafka://[user:password@]host:port[,host:port...][?librdkafka.setting=value...]``: the
hosts are the bootstrap servers; a user and password become ``sasl.username`` and
``sasl.password`` (with ``security.protocol`` ``SASL_PLAINTEXT`` and ``sasl.mechanism``
``PLAIN`` unless the query sets them); any other query parameter is passed to librdkafka
as it is (``security.protocol=SASL_SSL``, ``ssl.ca.location=...``). Errors name the
connection and its servers, never the password.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, unquote

from headwater.errors import ConnectionError_, SourceError


def client_config(url: str, *, name: str) -> dict[str, Any]:
    """librdkafka settings for the connection ``name`` whose (interpolated) URL is ``url``."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() != "kafka":
        raise ConnectionError_(
            f"connection {name!r}: a Kafka connection's url is kafka://host:port"
        )
    rest, _, query = rest.partition("?")
    rest = rest.rstrip("/")
    credentials, at, hosts = rest.rpartition("@")
    if not hosts:
        raise ConnectionError_(f"connection {name!r}: kafka:// needs host:port")
    config: dict[str, Any] = {"bootstrap.servers": hosts}
    if at:
        user, _, password = credentials.partition(":")
        config["sasl.username"] = unquote(user)
        config["sasl.password"] = unquote(password)
        config["security.protocol"] = "SASL_PLAINTEXT"
        config["sasl.mechanism"] = "PLAIN"
    config.update(dict(parse_qsl(query, keep_blank_values=True)))
    return config


def servers(config: dict[str, Any]) -> str:
    """The bootstrap servers, for messages (they hold no secret)."""
    return str(config["bootstrap.servers"])


def open_consumer(config: dict[str, Any], group: str, *, name: str, log: logging.Logger) -> Any:
    """A consumer of group ``group`` that commits nothing by itself: the offsets a load
    read are the warehouse's, written in its transaction (see :mod:`.load`)."""
    try:
        from confluent_kafka import Consumer
    except ImportError:  # pragma: no cover - the extra is not installed
        raise SourceError(
            f"connection {name!r}: Kafka sources need confluent-kafka "
            "(pip install 'headwater[kafka]')"
        ) from None
    settings = {
        **config,
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,  # a partition with nothing new ends the read
        "isolation.level": "read_committed",
        # librdkafka's own log lines go to the step's log (not to stderr, not the console)
        "logger": _Quiet(log),
    }
    try:
        return Consumer(settings)
    except Exception as exc:  # KafkaException: a bad setting in the URL's query
        raise ConnectionError_(f"connection {name!r} ({servers(config)}): {reason(exc)}") from None


def topic_partitions(
    consumer: Any, topics: list[str], *, name: str, servers_: str, timeout: float = 15.0
) -> dict[str, list[int]]:
    """The partitions of each topic (a missing topic is an error naming it)."""
    try:
        metadata = consumer.list_topics(timeout=timeout)
    except Exception as exc:
        raise ConnectionError_(
            f"connection {name!r}: cannot reach the Kafka brokers {servers_}: {reason(exc)}",
            transient=True,
        ) from None
    found: dict[str, list[int]] = {}
    for topic in topics:
        meta = metadata.topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            raise SourceError(f"connection {name!r}: topic {topic!r} does not exist on {servers_}")
        found[topic] = sorted(meta.partitions)
    return found


def reason(exc: BaseException) -> str:
    """The first line of a client error (librdkafka's words, which hold no password)."""
    args = getattr(exc, "args", ())
    first = args[0] if args else exc
    text = first.str() if hasattr(first, "str") else str(first)
    return text.splitlines()[0] if text else type(exc).__name__


class _Quiet:
    """librdkafka's log lines at debug level in the step's log (a broker that is down logs
    one line a second; the step's error says it once)."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log

    def log(self, level: int, msg: str, *args: Any, **kwargs: Any) -> None:
        self._log.debug("librdkafka: " + msg, *args)
