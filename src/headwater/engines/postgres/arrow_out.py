"""A PostgreSQL answer streamed out as Arrow record batches: exports and syncs read whole
tables, so the rows come through a server-side cursor (``DECLARE ... CURSOR``), a batch at
a time, never all in memory.

Each column's Arrow type follows its PostgreSQL type (from the answer's description), not
the values: every batch has the same schema, and a column that is all NULL in a batch
keeps its type. Types without a close Arrow one (arrays, uuid, interval, ...) arrive as
their text; JSON as its text, as DuckDB gives it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import psycopg
import pyarrow as pa
from psycopg.types.string import TextLoader

from headwater.engines.postgres.sql import placeholders

BATCH_ROWS = 65536
_names = itertools.count()

#: built-in type oids -> Arrow types (numeric: by its precision and scale, below)
_ARROW: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    700: pa.float32(),
    701: pa.float64(),
    1082: pa.date32(),
    1083: pa.time64("us"),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
    17: pa.binary(),
}
_NUMERIC = 1700


def arrow_type(column: Any) -> pa.DataType:
    """The Arrow type of one column of psycopg's ``description``."""
    if column.type_code == _NUMERIC:
        if column.precision is not None and column.precision <= 38:
            return pa.decimal128(column.precision, column.scale or 0)
        return pa.float64()  # numeric without a declared precision: any scale fits here
    return _ARROW.get(column.type_code, pa.string())


def arrow_schema(description: Sequence[Any]) -> pa.Schema:
    return pa.schema([pa.field(d.name, arrow_type(d)) for d in description])


def to_batch(schema: pa.Schema, rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
    """``rows`` (psycopg's tuples) as one record batch of ``schema``."""
    arrays = []
    for i, field in enumerate(schema):
        values = [r[i] for r in rows]
        if pa.types.is_string(field.type):
            values = [v if v is None or isinstance(v, str) else str(v) for v in values]
        elif pa.types.is_floating(field.type):
            values = [float(v) if isinstance(v, Decimal) else v for v in values]
        arrays.append(pa.array(values, type=field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def fetch_table(cur: psycopg.Cursor[Any], sql: str, params: list[Any] | None = None) -> pa.Table:
    """The whole answer of ``sql`` on ``cur`` (a small one: keys), as one Arrow table."""
    _text_json(cur)
    cur.execute(placeholders(sql).encode() if params else sql.encode(), params)
    schema = arrow_schema(cur.description or [])
    return pa.Table.from_batches([to_batch(schema, cur.fetchall())], schema=schema)


def declare(
    conn: psycopg.Connection[Any], sql: str, params: list[Any] | None = None
) -> tuple[psycopg.ServerCursor[Any], pa.Schema]:
    """A server-side cursor on ``conn`` over ``sql``'s answer, and that answer's Arrow
    schema (from the columns' types). ``conn`` must stay inside a transaction until the
    cursor is closed: the cursor lives in it. Nothing is fetched yet."""
    cur = conn.cursor(name=f"_hw_out_{next(_names)}")
    _text_json(cur)
    cur.execute(placeholders(sql) if params else sql, params)
    return cur, arrow_schema(cur.description or [])


def stream(
    conn: psycopg.Connection[Any],
    sql: str,
    params: list[Any] | None = None,
    *,
    batch_rows: int = BATCH_ROWS,
) -> pa.RecordBatchReader:
    """``sql``'s answer through a server-side cursor on ``conn`` (:func:`declare`), at most
    ``batch_rows`` rows a batch; the cursor is closed when read."""
    cur, schema = declare(conn, sql, params)

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            while rows := cur.fetchmany(batch_rows):
                yield to_batch(schema, rows)
        finally:
            cur.close()

    return pa.RecordBatchReader.from_batches(schema, batches())


def _text_json(cur: Any) -> None:
    for json_type in ("json", "jsonb"):  # JSON as its text (as DuckDB gives it)
        cur.adapters.register_loader(json_type, TextLoader)
