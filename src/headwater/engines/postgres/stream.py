"""Arrow rows into a PostgreSQL table through binary COPY.

The table is created from the Arrow schema (:func:`~.sql.pg_type`), plus ``_hw_seq``: the
row's place in the stream, which PostgreSQL does not keep otherwise (the latest row of a key
wins in a merge: :mod:`.superseded`). Batches are written one at a time, so memory holds a
batch, never the whole stream.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from headwater.engines.postgres.connection import PgCursor
from headwater.engines.postgres.sql import column_list, ident, pg_type

SEQ = "_hw_seq"

#: COPY's binary names of the column types :func:`pg_type` makes
_COPY_NAMES = {
    "boolean": "bool",
    "smallint": "int2",
    "integer": "int4",
    "bigint": "int8",
    "real": "float4",
    "double precision": "float8",
    "date": "date",
    "time": "time",
    "bytea": "bytea",
    "interval": "interval",
    "timestamp": "timestamp",
    "timestamptz": "timestamptz",
    "text": "text",
}


def batches_of(data: pa.Table | pa.RecordBatchReader) -> tuple[pa.Schema, Iterable[pa.RecordBatch]]:
    """The schema and the batches of an Arrow table or stream."""
    if isinstance(data, pa.Table):
        return data.schema, data.to_batches(max_chunksize=65536)
    return data.schema, data


def create_for(cur: PgCursor, target: str, schema: pa.Schema, *, temp: bool) -> list[str]:
    """Create ``target`` with ``schema``'s columns (and ``_hw_seq``); their PG types."""
    types = [pg_type(f.type) for f in schema]
    cols = ", ".join(f"{ident(f.name)} {t}" for f, t in zip(schema, types, strict=True))
    kind = "temp table" if temp else "table"
    cur.execute(f"create {kind} {target} ({cols}, {SEQ} bigint)")
    return types


def copy_into(
    cur: PgCursor, target: str, data: pa.Table | pa.RecordBatchReader, *, temp: bool = True
) -> int:
    """Create ``target`` from the data's schema and COPY every row into it; the row count."""
    schema, batches = batches_of(data)
    types = create_for(cur, target, schema, temp=temp)
    names = [*schema.names, SEQ]
    copy_types = [
        _COPY_NAMES.get(t, "numeric" if t.startswith("numeric") else "text") for t in types
    ]
    text_cols = {i for i, f in enumerate(schema) if pg_type(f.type) == "text"}
    written = 0
    sql = f"copy {target} ({column_list(names)}) from stdin (format binary)"
    with cur.raw.copy(sql.encode()) as copy:
        copy.set_types([*copy_types, "int8"])
        for batch in batches:
            columns = [
                _texts(col) if i in text_cols else col.to_pylist()
                for i, col in enumerate(batch.columns)
            ]
            for row in zip(*columns, range(written, written + batch.num_rows), strict=True):
                copy.write_row(row)
            written += batch.num_rows
    return written


def _texts(column: pa.Array) -> list[Any]:
    """A column stored as text: strings as they are, nested values as JSON."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.to_pylist()
    return [None if v is None else json.dumps(v, default=str) for v in column.to_pylist()]
