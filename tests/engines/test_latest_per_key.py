"""An Arrow stream's rows of one key, in one merge load: the row of the later batch wins,
and the others are counted as superseded."""

from __future__ import annotations

import pyarrow as pa

from headwater.engines.base import LoadRequest
from headwater.engines.duckdb.engine import DuckDBEngine


def _merge(engine: DuckDBEngine, batches: list[pa.RecordBatch], cursor: str | None = None):
    schema = batches[0].schema
    request = LoadRequest(
        schema="raw",
        table="t",
        load_id=engine.new_load_id(),
        write="merge",
        primary_key=["id"],
        cursor=cursor,
        batches=pa.RecordBatchReader.from_batches(schema, batches),
    )
    return engine.load("raw.t", request)


def _batch(ids: range, value: str, at: int = 0) -> pa.RecordBatch:
    return pa.record_batch(
        {
            "id": pa.array(list(ids), pa.int64()),
            "v": pa.array([value] * len(ids)),
            "at": pa.array([at] * len(ids), pa.int64()),
        }
    )


def test_the_later_batch_wins_without_a_cursor(engine: DuckDBEngine) -> None:
    keys = range(1000)
    result = _merge(engine, [_batch(keys, "first"), _batch(keys, "second"), _batch(keys, "last")])
    assert engine.execute("select distinct v from raw.t").fetchall() == [("last",)]
    assert (result.rows_read, result.rows_written, result.rows_superseded) == (3000, 1000, 2000)


def test_the_cursor_wins_over_the_batch_order(engine: DuckDBEngine) -> None:
    keys = range(1000)
    result = _merge(engine, [_batch(keys, "newer", at=2), _batch(keys, "older", at=1)], "at")
    assert engine.execute("select distinct v from raw.t").fetchall() == [("newer",)]
    assert result.rows_superseded == 1000
    # a later load's older rows lose to the stored ones, and are counted too
    again = _merge(engine, [_batch(range(10), "stale", at=0)], "at")
    assert (again.rows_written, again.rows_superseded) == (0, 10)
    assert engine.execute("select distinct v from raw.t").fetchall() == [("newer",)]
