"""MySQL/MariaDB incremental reads: typed cursor windows, boundary rows, queries, ranges."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
import pytest
from test_mysql_helpers import execute, project_toml, warehouse, write_and_run

import headwater.sources.mysql.catalog as mysql_catalog
from headwater.sources.connector import TableRead
from headwater.sources.mysql import MySQLConnector

pytestmark = pytest.mark.skipif(
    not __import__("headwater.testing.servers", fromlist=["x"]).mariadb_available(),
    reason="MariaDB is not installed",
)


def run_ok(root: Path, toml: str | None = None) -> dict:
    result = write_and_run(root, toml)
    step = next(iter(result.steps.values()))
    assert step.status == "success", step.error
    return step.result


def test_merge_boundary_rows_are_neither_lost_nor_duplicated(mariadb_url, tmp_path) -> None:
    execute(
        mariadb_url,
        "create table customers (id int primary key, name varchar(20), updated_at datetime(6))",
        "insert into customers values (1, 'a', '2026-01-01 10:00:00'), "
        "(2, 'b', '2026-01-01 10:00:00'), (3, 'c', '2026-01-02 10:00:00.25')",
    )
    source = 'tables = ["customers"]\nprimary_key = ["id"]\ncursor = "updated_at"\nwrite = "merge"'
    root = tmp_path / "p"
    assert run_ok(root, project_toml(mariadb_url, source))["rows_out"] == 3
    mark = warehouse(root, "select state->>'cursor' from _headwater.state")
    assert mark == [("2026-01-02 10:00:00.25",)]
    execute(
        mariadb_url,
        # a row at exactly the boundary, committed after the first run; a newer one; an update
        "insert into customers values (4, 'd', '2026-01-02 10:00:00.25'), "
        "(5, 'e', '2026-01-03 00:00:00')",
        "update customers set name = 'a2', updated_at = '2026-01-03 00:00:00' where id = 1",
    )
    second = run_ok(root)
    assert second["rows_in"] == 4  # 3 (boundary), 4 (boundary), 5, 1: typed >= on the mark
    assert warehouse(root, "select id, name from raw.my_customers order by id") == [
        (1, "a2"),
        (2, "b"),
        (3, "c"),
        (4, "d"),
        (5, "e"),
    ]
    assert run_ok(root)["rows_out"] == 0  # a rerun changes nothing


def test_append_timestamp_cursor_boundary(mariadb_url, tmp_path) -> None:
    execute(
        mariadb_url,
        "create table events (id int primary key, kind varchar(10), at timestamp(6) null)",
        "insert into events values (1, 'x', '2026-03-01 08:00:00'), (2, 'y', '2026-03-01 09:00:00')",
    )
    source = 'tables = ["events"]\ncursor = "at"\nwrite = "append"'
    root = tmp_path / "p"
    run_ok(root, project_toml(mariadb_url, source))
    mark = warehouse(root, "select state->>'cursor' from _headwater.state")[0][0]
    assert mark.startswith("2026-03-01 09:00:00+")  # a UTC instant, as DuckDB writes it
    execute(
        mariadb_url,
        "insert into events values (3, 'z', '2026-03-01 09:00:00'), (4, 'w', '2026-03-02 00:00:00')",
    )
    assert run_ok(root)["rows_in"] == 3  # 2 and 3 at the boundary (2 recognised), 4
    run_ok(root)
    rows = warehouse(root, "select id from raw.my_events order by id")
    assert rows == [(1,), (2,), (3,), (4,)]


def test_initial_value_compares_as_numbers_not_text(mariadb_url, tmp_path) -> None:
    execute(
        mariadb_url,
        "create table m (id int primary key, n bigint, price decimal(8,2))",
        "insert into m values (1, 9, 2.45), (2, 10, 2.5), (3, 100, 10.0)",
    )
    root = tmp_path / "p"
    source = 'tables = ["m"]\ncursor = "n"\ninitial_value = "10"\nwrite = "append"'
    run_ok(root, project_toml(mariadb_url, source))
    assert warehouse(root, "select n from raw.my_m order by n") == [(10,), (100,)]
    root2 = tmp_path / "p2"
    source = 'tables = ["m"]\ncursor = "price"\ninitial_value = "2.5"\nwrite = "append"'
    run_ok(root2, project_toml(mariadb_url, source))
    assert warehouse(root2, "select id from raw.my_m order by id") == [(2,), (3,)]


@pytest.fixture
def connector(mariadb_url):
    execute(
        mariadb_url,
        "create table w (id int primary key, day date, at datetime, label varchar(10))",
        "insert into w values (1, '2026-01-01', '2026-01-01 00:00:00', 'a'), "
        "(2, '2026-01-02', '2026-01-02 12:00:00', 'b'), (3, '2026-01-03', '2026-01-03 00:00:00', 'c')",
    )
    con = MySQLConnector(mariadb_url, name="my")
    yield con
    con.close()


def ids(reader: pa.RecordBatchReader) -> list[int]:
    return sorted(reader.read_all().column("id").to_pylist())


def test_window_bounds(connector) -> None:
    read = TableRead(table="w", cursor="day", since="2026-01-02")
    assert ids(connector.read(read)) == [2, 3]
    assert ids(
        connector.read(TableRead(table="w", cursor="day", since="2026-01-02", inclusive=False))
    ) == [3]
    until = TableRead(table="w", cursor="at", since="2026-01-01 00:00:00", until="2026-01-03")
    assert ids(connector.read(until)) == [1, 2]
    # a zoned initial value is compared as the UTC wall time of a DATETIME column
    zoned = TableRead(table="w", cursor="at", since="2026-01-02T14:00:00+02:00")
    assert ids(connector.read(zoned)) == [2, 3]


def test_columns_query_tables_and_schema(connector) -> None:
    assert connector.tables() == ["w"]
    assert connector.schema("w") == pa.schema(
        [
            ("id", pa.int32()),
            ("day", pa.date32()),
            ("at", pa.timestamp("us")),
            ("label", pa.string()),
        ]
    )
    table = connector.read(TableRead(table="w", columns=["label", "id"])).read_all()
    assert table.column_names == ["label", "id"]
    query = "select label, sum(id) * 1.5 as total, count(*) as n from w group by label;"
    result = connector.read(
        TableRead(table=None, query=query, cursor="label", since="b")
    ).read_all()
    assert result.schema.field("total").type == pa.decimal128(34, 1)
    assert result.to_pylist()[0]["label"] == "b" and result.num_rows == 2


def test_query_source_through_the_runtime(mariadb_url, tmp_path) -> None:
    execute(
        mariadb_url,
        "create table o (id int primary key, amount decimal(10,2))",
        "insert into o values (1, 10.25), (2, 5.5)",
    )
    root = tmp_path / "p"
    run_ok(root, project_toml(mariadb_url, 'query = "select id, amount * 2 as doubled from o"'))
    assert warehouse(root, "select id, doubled::varchar from raw.my order by id") == [
        (1, "20.50"),
        (2, "11.00"),
    ]


def test_parallel_ranges_read_every_row_once(mariadb_url, monkeypatch) -> None:
    execute(
        mariadb_url,
        "create table r (id bigint primary key, v varchar(20))",
        "insert into r select seq, concat('v', seq) from seq_1_to_5000",
        "analyze table r",
    )
    monkeypatch.setattr(mysql_catalog, "PARALLEL_MIN_ROWS", 1)
    con = MySQLConnector(mariadb_url + "?parallel=3", name="my")
    try:
        assert con.plan(TableRead(table="r")).partition == ("id", 3)
        # an incremental read is one snapshot: never split
        assert con.plan(TableRead(table="r", cursor="id", since="1")).partition is None
        table = con.read(TableRead(table="r", batch_size=700)).read_all()
    finally:
        con.close()
    assert sorted(table.column("id").to_pylist()) == list(range(1, 5001))


def test_password_with_url_special_characters(mariadb_server, mariadb_url) -> None:
    database = mariadb_url.rsplit("/", 1)[1]
    user, password = "odd_user", "p@ss:w/rd%?#é"
    execute(
        mariadb_url,
        "create table s (id int primary key)",
        "insert into s values (1), (2)",
        f"create or replace user '{user}'@'%' identified by '{password}'",
        f"grant select on `{database}`.* to '{user}'@'%'",
    )
    url = (
        f"mysql://{quote(user)}:{quote(password, safe='')}@{mariadb_server.host}:"
        f"{mariadb_server.port}/{database}"
    )
    con = MySQLConnector(url, name="my")
    try:
        assert ids(con.read(TableRead(table="s"))) == [1, 2]
    finally:
        con.close()
