"""Kafka topics as a source: JSON messages loaded exactly once, their offsets committed in
the warehouse's transaction with the rows (:mod:`.load`); the connection's URL and client
(:mod:`.client`); messages as Arrow rows, with an optional JSON Schema contract
(:mod:`.records`)."""

from headwater.sources.kafka.load import OFFSETS, load_kafka

__all__ = ["OFFSETS", "load_kafka"]
