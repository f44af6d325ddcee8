"""The PostgreSQL connector on its own: listing, schemas, windows, bounded and stoppable streams."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from test_postgres_helpers import pg

from headwater.sources.connector import TableRead
from headwater.sources.postgres import CAPABILITIES, PostgresConnector
from headwater.testing.servers import postgres_available

pytestmark = pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not installed")


def sessions(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as con:
        row = con.execute(
            "select count(*) from pg_stat_activity where application_name = 'headwater'"
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture
def connector(postgres_url: str) -> Any:
    pg(
        postgres_url,
        "create schema shop",
        "create table shop.orders (id bigint primary key, amount numeric(10,2), at timestamptz)",
        "create view shop.big_orders as select * from shop.orders where amount > 100",
        "create table public.t (id int)",
        "insert into shop.orders select g, g * 1.5, timestamptz '2024-01-01' + g * interval '1 hour' "
        "from generate_series(1, 200) g",
    )
    con = PostgresConnector(postgres_url, name="pg")
    yield con
    con.close()


def test_capabilities_are_declared() -> None:
    assert PostgresConnector.capabilities is CAPABILITIES
    assert CAPABILITIES.parallel_ranges and CAPABILITIES.incremental_cursor
    assert CAPABILITIES.custom_query and CAPABILITIES.list_tables


def test_tables_and_schema(connector: PostgresConnector) -> None:
    assert connector.tables() == ["t"]
    assert connector.tables("shop") == ["big_orders", "orders"]
    schema = connector.schema("shop.orders")
    assert schema == pa.schema(
        [
            ("id", pa.int64()),
            ("amount", pa.decimal128(10, 2)),
            ("at", pa.timestamp("us", tz="UTC")),
        ]
    )
    assert connector.schema("shop.big_orders") == schema  # views too


def test_until_bounds_the_window(connector: PostgresConnector) -> None:
    read = TableRead(
        "shop.orders",
        cursor="at",
        since="2024-01-01 10:00:00+00",
        until="2024-01-01 15:00:00+05:00",  # 10:00 UTC: an empty window, compared as instants
    )
    assert connector.read(read).read_all().num_rows == 0
    read = TableRead(
        "shop.orders", cursor="at", since="2024-01-01 10:00:00+00", until="2024-01-01 13:00:00+00"
    )
    table = connector.read(read).read_all()
    assert sorted(table.column("id").to_pylist()) == [10, 11, 12]
    columns = connector.read(TableRead("shop.orders", columns=["at", "id"])).read_all()
    assert columns.column_names == ["at", "id"] and columns.num_rows == 200


def test_abandoned_parallel_read_stops_and_closes_its_connections(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg(
        postgres_url,
        "create table big (id bigint primary key, t text)",
        "insert into big select g, repeat(md5(g::text), 4) from generate_series(1, 300000) g",
    )
    monkeypatch.setattr(PostgresConnector, "parallel_min_bytes", 0)
    monkeypatch.setattr(PostgresConnector, "parallel_workers", 3)
    con = PostgresConnector(postgres_url, name="pg")
    reader = con.read(TableRead("big"))
    first = reader.read_next_batch()
    assert first.num_rows > 0
    time.sleep(0.3)  # the workers fill the queue, then wait: memory stays bounded
    stream = con._stream
    assert stream is not None and stream._out.qsize() <= 2 * 3 + 3
    assert sessions(postgres_url) == 3
    started = time.monotonic()
    con.close()  # the warehouse gave up: cancel, join, disconnect
    assert time.monotonic() - started < 5
    deadline = time.monotonic() + 5
    while sessions(postgres_url) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sessions(postgres_url) == 0


def test_reads_after_a_parallel_read_reuse_the_connector(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg(
        postgres_url,
        "create table nums (id bigint primary key)",
        "insert into nums select generate_series(1, 50000)",
    )
    monkeypatch.setattr(PostgresConnector, "parallel_min_bytes", 0)
    con = PostgresConnector(postgres_url, name="pg")
    try:
        for _ in range(3):
            assert con.read(TableRead("nums")).read_all().num_rows == 50000
        assert con.read(TableRead("nums", cursor="id", since="49991")).read_all().num_rows == 10
    finally:
        con.close()
