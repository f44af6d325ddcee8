"""Settings of stream sources: ``[sources.x.kafka]`` (a Kafka topic) and ``[sources.x.cdc]``
(PostgreSQL change data capture through a logical replication slot).

Both read a bounded batch per run: what the stream holds when the run starts (or at most
``max_messages``), loaded in one warehouse transaction with the position reached.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KafkaSettings(_Strict):
    """A Kafka source: its topics' JSON messages, one row each.

    ``group``: the consumer group the offsets are shown under on the broker (committed
    there after the warehouse commit, for monitoring only: the warehouse's copy is the one
    read back). ``start``: where a partition never read starts. ``max_messages``: at most
    this many messages per run (default: until the end offsets seen at the start).
    ``json_schema``: a JSON Schema file (relative to the project) every payload must
    satisfy; its properties' types are the columns' types. ``on_bad_message``: a payload
    that is not a JSON object or breaks the schema fails the load (``fail``) or is recorded
    in ``_headwater.rejected_rows`` and skipped (``skip_and_record``).
    ``idle_timeout``: seconds without a message, below the end offsets, after which the
    batch ends with what it read. ``mode``: ``batch`` (a bounded batch per run) or
    ``continuous`` (``headwater server`` also consumes it without a schedule, in
    micro-batches of at most ``max_messages``, default 10,000, or ``max_latency`` seconds
    after their first message: :mod:`headwater.server.streams`)."""

    topics: list[str] = Field(min_length=1)
    group: str | None = None
    start: Literal["earliest", "latest"] = "earliest"
    max_messages: int | None = Field(None, ge=1)
    json_schema: str | None = None
    on_bad_message: Literal["fail", "skip_and_record"] = "fail"
    idle_timeout: float = Field(10.0, gt=0)
    mode: Literal["batch", "continuous"] = "batch"
    max_latency: float = Field(1.0, gt=0, le=3600)

    @field_validator("topics", mode="before")
    @classmethod
    def _one_topic(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class CdcSettings(_Strict):
    """A change-capture source: the inserts, updates and deletes of its ``tables``, read
    from the logical replication slot ``slot`` (one per table: ``<slot>_<table>`` when the
    source has several), into a ``merge`` or ``scd2`` asset.

    ``deletes``: ``hard`` removes the row (merge) or closes its version (scd2); ``soft``
    keeps it and sets ``_hw_deleted_at``. ``snapshot``: when the slot is created, load the
    table's rows as of the slot's consistent point first. ``max_changes``: at most about
    this many changes per run (whole transactions; default: up to the WAL position seen at
    the start)."""

    slot: str = Field(pattern=r"^[a-z0-9_]{1,50}$")
    deletes: Literal["hard", "soft"] = "hard"
    snapshot: bool = True
    max_changes: int | None = Field(None, ge=1)
