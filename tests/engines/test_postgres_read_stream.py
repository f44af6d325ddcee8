"""Reads of a PostgreSQL warehouse stream (``Engine.export_batches``: what
``headwater.read``, the server's Arrow reads and downloads use): the answer comes from a
server-side cursor in batches of at most ``BATCH_ROWS`` rows, typed by the columns'
PostgreSQL types, so a large table is never held whole in memory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg
import pyarrow as pa
import pytest

from headwater.engines.postgres.arrow_out import BATCH_ROWS
from headwater.engines.postgres.engine import PostgresEngine
from headwater.errors import EngineError

ROWS = 2 * BATCH_ROWS + 1000  # three batches
BAD_ROW = BATCH_ROWS + 5000  # in the second batch

TABLE = f"""
create schema s;
create table s.t (id bigint, label text, amount numeric(12, 2), at timestamptz, day date,
                  ok boolean, doc jsonb, nothing integer);
insert into s.t
select i, case when i = {BAD_ROW} then 'x' else i::text end, i * 0.25,
       timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second',
       date '2026-01-01' + (i % 30), i % 2 = 0, jsonb_build_object('i', i), null
from generate_series(1, {ROWS}) i;
"""


@pytest.fixture
def engine(postgres_url: str) -> Iterator[PostgresEngine]:
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(TABLE)
    eng = PostgresEngine(postgres_url, read_only=True)
    yield eng
    eng.close()


def _expected(i: int) -> dict[str, object]:
    return {
        "id": i,
        "label": "x" if i == BAD_ROW else str(i),
        "amount": Decimal(i) / 4,
        "at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i),
        "day": date(2026, 1, 1) + timedelta(days=i % 30),
        "ok": i % 2 == 0,
        "doc": f'{{"i": {i}}}',
        "nothing": None,
    }


def test_a_large_read_arrives_in_bounded_typed_batches_equal_to_the_table(
    engine: PostgresEngine,
) -> None:
    stream = engine.export_batches("select * from s.t")
    batches = list(stream)
    assert [b.num_rows for b in batches] == [BATCH_ROWS, BATCH_ROWS, 1000]
    assert {str(f.name): str(f.type) for f in stream.schema} == {
        "id": "int64", "label": "string", "amount": "decimal128(12, 2)",
        "at": "timestamp[us, tz=UTC]", "day": "date32[day]", "ok": "bool",
        "doc": "string", "nothing": "int32",  # all NULL, still typed by its column
    }  # fmt: skip
    assert all(b.schema == stream.schema for b in batches)
    table = pa.Table.from_batches(batches, schema=stream.schema)
    assert table.to_pylist() == [_expected(i) for i in range(1, ROWS + 1)]


def test_the_first_batch_arrives_before_the_rest_of_the_answer_is_computed(
    engine: PostgresEngine,
) -> None:
    # the cast fails on row BAD_ROW only: an answer computed whole before the stream
    # returned would fail at once, with no row delivered
    stream = engine.export_batches("select id, cast(label as integer) as n from s.t")
    rows = iter(stream)
    first = next(rows)
    assert first.num_rows == BATCH_ROWS
    assert first.column("n").to_pylist() == list(range(1, BATCH_ROWS + 1))
    with pytest.raises(EngineError, match="invalid input syntax for type integer"):
        next(rows)


def test_a_limit_stops_the_stream_and_close_releases_its_connection(
    engine: PostgresEngine, postgres_url: str
) -> None:
    def sessions() -> int:
        with psycopg.connect(postgres_url) as con:
            row = con.execute(
                "select count(*) from pg_stat_activity "
                "where datname = current_database() and pid <> pg_backend_pid()"
            ).fetchone()
        assert row is not None
        return int(row[0])

    before = sessions()
    stream = engine.export_batches("select id from s.t", limit=BATCH_ROWS + 10)
    assert sessions() == before + 1  # the stream's own connection, in its transaction
    assert [b.num_rows for b in stream] == [BATCH_ROWS, 10]
    assert sessions() == before  # read to the end: rolled back and closed
    half = engine.export_batches("select id from s.t")
    half.close()
    assert sessions() == before
