"""Kafka messages as rows: each JSON object payload's top-level fields are columns, beside
``_kafka_topic``, ``_kafka_partition``, ``_kafka_offset``, ``_kafka_timestamp`` (UTC) and
``_kafka_key`` (the key as UTF-8 text).

Payloads are parsed all at once by Arrow's JSON reader (one type inference over the whole
batch; 1M small messages parse in well under a second). A JSON Schema, when given, is the
payloads' contract: every message is validated and its properties' types are the columns'.
A message that is not a JSON object, or breaks the schema, is a :class:`BadMessage`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.json as pa_json

from headwater.errors import ProjectError, SourceError

KAFKA_COLUMNS = (
    "_kafka_topic",
    "_kafka_partition",
    "_kafka_offset",
    "_kafka_timestamp",
    "_kafka_key",
)


@dataclass(frozen=True)
class BadMessage:
    """A message that cannot be a row: where it is and why."""

    topic: str
    partition: int
    offset: int
    error: str
    raw: str

    def describe(self) -> str:
        return f"topic {self.topic!r} partition {self.partition} offset {self.offset}: {self.error}"


@dataclass
class Batch:
    """Messages collected for one load, column by column."""

    values: list[bytes] = field(default_factory=list)
    topic: list[str] = field(default_factory=list)
    partition: list[int] = field(default_factory=list)
    offset: list[int] = field(default_factory=list)
    timestamp: list[int | None] = field(default_factory=list)
    key: list[bytes | None] = field(default_factory=list)
    bad: list[BadMessage] = field(default_factory=list)

    def add(self, message: Any) -> None:
        """Append a confluent-kafka message (a null payload, a tombstone, is ``{}``)."""
        value = message.value()
        if value is not None and b"\n" in value:  # pretty-printed: one line for the reader
            value = _one_line(value)
        self.values.append(value or b"{}")
        self.topic.append(message.topic())
        self.partition.append(message.partition())
        self.offset.append(message.offset())
        kind, ms = message.timestamp()
        self.timestamp.append(ms if kind else None)  # 0: TIMESTAMP_NOT_AVAILABLE
        self.key.append(message.key())

    def __len__(self) -> int:
        return len(self.values)


class PayloadSchema:
    """A JSON Schema file: the validator of each payload and the Arrow types it implies."""

    def __init__(self, path: Path) -> None:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ProjectError(f"{path}: cannot read the JSON schema: {exc.strerror}") from None
        except ValueError as exc:
            raise ProjectError(f"{path}: not a JSON schema: {exc}") from None
        from jsonschema import validators

        cls = validators.validator_for(document)
        try:
            cls.check_schema(document)
        except Exception as exc:
            raise ProjectError(f"{path}: not a valid JSON schema: {_first_line(exc)}") from None
        self._validator = cls(document)
        self.arrow = _arrow_schema(document.get("properties", {}))

    def error(self, payload: Any) -> str | None:
        """Why ``payload`` breaks the schema (the first reason), or None."""
        best = next(iter(self._validator.iter_errors(payload)), None)
        if best is None:
            return None
        where = "/".join(str(p) for p in best.absolute_path)
        return f"{where or 'payload'}: {best.message}"


def to_table(batch: Batch, schema: PayloadSchema | None, *, where: str) -> pa.Table:
    """The batch as one Arrow table (payload columns, then the ``_kafka_*`` columns).
    Bad messages found are moved to ``batch.bad`` (the caller decides: fail or record)."""
    if schema is not None:
        _validate(batch, schema)
    payload = _parse(batch, schema)
    if payload is None:  # some line is not a JSON object: find it, set it aside, parse again
        _find_unparsable(batch)
        payload = _parse(batch, schema)
        assert payload is not None
    clash = [c for c in payload.column_names if c in KAFKA_COLUMNS]
    if clash:
        raise SourceError(f"{where}: payload field {clash[0]!r} has the name of a Kafka column")
    meta: dict[str, pa.Array] = {
        "_kafka_topic": pa.array(batch.topic, pa.string()),
        "_kafka_partition": pa.array(batch.partition, pa.int32()),
        "_kafka_offset": pa.array(batch.offset, pa.int64()),
        "_kafka_timestamp": pa.array(batch.timestamp, pa.timestamp("ms", tz="UTC")),
        "_kafka_key": pa.array(
            [k.decode("utf-8", "replace") if k is not None else None for k in batch.key],
            pa.string(),
        ),
    }
    for name, column in meta.items():
        payload = payload.append_column(name, column)
    return payload


def _parse(batch: Batch, schema: PayloadSchema | None) -> pa.Table | None:
    if not batch.values:
        fields = schema.arrow if schema is not None else pa.schema([])
        return pa.table({f.name: pa.array([], f.type) for f in fields})
    data = b"\n".join(batch.values)
    options = pa_json.ReadOptions(block_size=max(1 << 20, min(len(data) + 1, 1 << 30)))
    parse = pa_json.ParseOptions(
        explicit_schema=schema.arrow if schema is not None else None,
        unexpected_field_behavior="infer",
    )
    try:
        table = pa_json.read_json(io.BytesIO(data), read_options=options, parse_options=parse)
    except pa.ArrowInvalid:
        return None
    return table if table.num_rows == len(batch) else None


def _validate(batch: Batch, schema: PayloadSchema) -> None:
    keep = []
    for i, value in enumerate(batch.values):
        try:
            payload = json.loads(value)
            why = schema.error(payload)
        except ValueError as exc:
            why = f"not JSON: {exc}"
        if why is None:
            keep.append(i)
        else:
            batch.bad.append(_bad(batch, i, why))
    _keep(batch, keep)


def _find_unparsable(batch: Batch) -> None:
    keep = []
    for i, value in enumerate(batch.values):
        try:
            payload = json.loads(value)
            why = None if isinstance(payload, dict) else "the payload is not a JSON object"
        except ValueError as exc:
            why = f"not JSON: {exc}"
        if why is None:
            keep.append(i)
        else:
            batch.bad.append(_bad(batch, i, why))
    _keep(batch, keep)


def _bad(batch: Batch, i: int, why: str) -> BadMessage:
    raw = batch.values[i].decode("utf-8", "replace")
    return BadMessage(batch.topic[i], batch.partition[i], batch.offset[i], why, raw[:1000])


def _keep(batch: Batch, rows: list[int]) -> None:
    if len(rows) == len(batch.values):
        return
    for name in ("values", "topic", "partition", "offset", "timestamp", "key"):
        column = getattr(batch, name)
        setattr(batch, name, [column[i] for i in rows])


def _one_line(value: bytes) -> bytes:
    try:
        return json.dumps(json.loads(value), separators=(",", ":")).encode()
    except ValueError:
        return value.replace(b"\n", b" ")  # not JSON either way: the parse says so


_JSON_TYPES = {
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "string": pa.string(),
}
_STRING_FORMATS = {"date-time": pa.timestamp("us", tz="UTC"), "date": pa.date32()}


def _arrow_schema(properties: dict[str, Any]) -> pa.Schema:
    """Arrow types of a schema's top-level properties (objects and arrays: inferred)."""
    fields = []
    for name, spec in properties.items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if isinstance(kind, list):  # ["string", "null"]: nullable anyway
            kind = next((k for k in kind if k != "null"), None)
        arrow = _JSON_TYPES.get(kind) if isinstance(kind, str) else None
        if kind == "string":
            arrow = _STRING_FORMATS.get(spec.get("format", ""), arrow)
        if arrow is not None:
            fields.append(pa.field(name, arrow))
    return pa.schema(fields)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", exc))
    return text.splitlines()[0] if text else type(exc).__name__
