"""Incremental PostgreSQL loads: typed cursor comparisons, boundary rows, initial values,
custom queries, and parallel range reads that equal a single-stream read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from test_postgres_helpers import pg

from headwater.project import load_project
from headwater.runtime import run
from headwater.sources.postgres import PostgresConnector
from headwater.testing.cli import query_warehouse as warehouse
from headwater.testing.servers import postgres_available

pytestmark = pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not installed")


def project(project_dir: Any, url: str, *sources: str) -> Path:
    toml = f'[connections.pg]\nurl = "{url}"\n' + "\n".join(sources)
    root: Path = project_dir({"headwater.toml": toml})
    return root


def source(name: str = "pg", **settings: Any) -> str:
    """A ``[sources.<name>]`` table on connection ``pg``; values are written as TOML."""
    lines = [f"[sources.{name}]", 'connection = "pg"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def load(root: Path) -> dict[str, Any]:
    result = run(load_project(root))
    (step,) = result.steps.values()
    assert result.status == "success", step.error
    return dict(step.result)


def state_cursor(root: Path, asset: str) -> str | None:
    rows = warehouse(root, f"select state->>'cursor' from _headwater.state where asset = '{asset}'")
    return rows[0][0] if rows else None


EVENTS = """
create table events (id integer primary key, v text, updated_at {kind} not null);
"""


@pytest.mark.parametrize("write", ["merge", "append"])
def test_rows_sharing_the_boundary_value_are_neither_lost_nor_duplicated(
    project_dir: Any, postgres_url: str, write: str
) -> None:
    database = postgres_url.rsplit("/", 1)[1]
    pg(
        postgres_url,
        f"alter database {database} set timezone to 'Asia/Kolkata'",  # +05:30, not UTC
    )
    pg(
        postgres_url,
        EVENTS.format(kind="timestamptz"),
        "insert into events values (1, 'a', '2024-01-01 10:00:00+00'), "
        "(2, 'b', '2024-01-01 11:00:00.000001+00')",
    )
    root = project(
        project_dir,
        postgres_url,
        source(tables=["events"], primary_key=["id"], cursor="updated_at", write=write),
    )
    assert load(root)["rows_out"] == 2
    mark = state_cursor(root, "raw.pg_events")
    assert mark is not None and mark.startswith("2024-01-01 11:00:00.000001")
    # a row committed later with the very same cursor value, and a newer one
    pg(
        postgres_url,
        "insert into events values (3, 'c', '2024-01-01 16:30:00.000001+05:30'), "
        "(4, 'd', '2024-01-01 12:00:00+00')",
    )
    second = load(root)
    assert second["rows_out"] == 2
    rows = warehouse(root, "select id, v from raw.pg_events order by id")
    assert rows == [(1, "a"), (2, "b"), (3, "c"), (4, "d")]
    assert load(root)["rows_out"] == 0  # nothing new: nothing written
    assert warehouse(root, "select count(*) from raw.pg_events") == [(4,)]
    assert state_cursor(
        root,
        "raw.pg_events",
    ).startswith("2024-01-01 12:00:00")  # type: ignore[union-attr]


def test_merge_updates_rows_by_key(project_dir: Any, postgres_url: str) -> None:
    pg(
        postgres_url,
        EVENTS.format(kind="timestamp"),
        "insert into events values (1, 'a', '2024-01-01 10:00'), (2, 'b', '2024-01-01 11:00')",
    )
    root = project(
        project_dir,
        postgres_url,
        source(tables=["events"], primary_key=["id"], cursor="updated_at", write="merge"),
    )
    load(root)
    pg(postgres_url, "update events set v = 'a2', updated_at = '2024-01-02 00:00' where id = 1")
    assert load(root)["rows_in"] == 2  # id 1 (changed) and id 2 (at the boundary, re-read)
    assert warehouse(root, "select id, v from raw.pg_events order by id") == [
        (1, "a2"),
        (2, "b"),
    ]


def test_integer_cursor_compares_as_a_number(project_dir: Any, postgres_url: str) -> None:
    pg(
        postgres_url,
        "create table seq (id bigint primary key, v text)",
        "insert into seq select g, 'v' || g from generate_series(1, 9) g",
    )
    root = project(
        project_dir,
        postgres_url,
        source(tables=["seq"], cursor="id", write="append"),
    )
    assert load(root)["rows_out"] == 9
    assert state_cursor(root, "raw.pg_seq") == "9"
    pg(postgres_url, "insert into seq values (10, 'v10'), (11, 'v11')")  # '10' < '9' as text
    assert load(root)["rows_out"] == 2
    assert warehouse(root, "select count(*), count(distinct id), max(id) from raw.pg_seq") == [
        (11, 11, 11)
    ]


def test_initial_value_starts_the_window(project_dir: Any, postgres_url: str) -> None:
    pg(
        postgres_url,
        EVENTS.format(kind="timestamp"),
        "insert into events values (1, 'old', '2023-12-31 23:59:59.999999'), "
        "(2, 'new', '2024-01-01 00:00'), (3, 'newer', '2024-01-05 00:00')",
    )
    root = project(
        project_dir,
        postgres_url,
        source(
            tables=["events"],
            primary_key=["id"],
            cursor="updated_at",
            initial_value="2024-01-01",
            write="merge",
        ),
    )
    load(root)
    assert warehouse(root, "select id from raw.pg_events order by id") == [(2,), (3,)]


def test_query_source_with_a_cursor_and_schema_qualified_table(
    project_dir: Any, postgres_url: str
) -> None:
    pg(
        postgres_url,
        "create schema shop",
        "create table shop.orders (id int primary key, amount numeric(10,2), at timestamptz)",
        "insert into shop.orders values (1, 10.50, '2024-01-01 00:00+00'), "
        "(2, 20.00, '2024-01-02 00:00+00')",
    )
    root = project(
        project_dir,
        postgres_url,
        source(
            name="big_orders",
            query="select id, amount * 2 as doubled, (amount * 2)::numeric(12,2) as typed, "
            "at from shop.orders where amount > 0",
            primary_key=["id"],
            cursor="at",
            write="merge",
        ),
        source(tables=["shop.orders"], primary_key=["id"], write="replace"),
    )
    result = run(load_project(root))
    assert result.status == "success", {n: s.error for n, s in result.steps.items()}
    names = sorted(result.steps)
    query_asset = next(n for n in names if "big_orders" in n)
    table_asset = next(n for n in names if n != query_asset)
    # an expression's numeric has no declared scale: exact text, unless cast in the query
    assert warehouse(root, f"select id, doubled, typed from {query_asset} order by id") == [
        (1, "21.00", Decimal("21.00")),
        (2, "40.00", Decimal("40.00")),
    ]
    # (the loader names it raw."pg_shop.orders": the table name keeps the schema's dot)
    schema, table = table_asset.split(".", 1)
    amounts = warehouse(root, f'select amount::varchar from {schema}."{table}" order by id')
    assert amounts == [("10.50",), ("20.00",)]
    pg(postgres_url, "insert into shop.orders values (3, 1.25, '2024-01-03 00:00+00')")
    run(load_project(root))
    assert warehouse(root, f"select count(*) from {query_asset}") == [(3,)]


@pytest.mark.parametrize("split", ["blocks", "key"])
def test_parallel_ranges_read_the_table_exactly_once(
    project_dir: Any, postgres_url: str, monkeypatch: pytest.MonkeyPatch, split: str
) -> None:
    pg(
        postgres_url,
        "create table wide (id bigint primary key, n numeric(12,2), t text, d date)",
        "insert into wide select g, g / 100.0, md5(g::text), date '2020-01-01' + g % 1000 "
        "from generate_series(-5000, 60000) g",
        "delete from wide where id % 7 = 0",  # holes in blocks and keys
    )
    monkeypatch.setattr(PostgresConnector, "parallel_min_bytes", 0)
    monkeypatch.setattr(PostgresConnector, "parallel_workers", 3)
    monkeypatch.setattr(PostgresConnector, "split", split)
    reads: list[int] = []
    original = PostgresConnector._ranges

    def spy(self: PostgresConnector, relation: Any, sql: Any) -> Any:
        queries, snapshot = original(self, relation, sql)
        reads.append(len(queries))
        return queries, snapshot

    monkeypatch.setattr(PostgresConnector, "_ranges", spy)
    root = project(
        project_dir,
        postgres_url,
        # the connector's own ranges (a native read splits in the warehouse)
        source(tables=["wide"], primary_key=["id"], write="replace", transport="arrow"),
    )
    load(root)
    assert reads and reads[0] >= 6  # really split: 3 workers x several ranges
    expected = None
    with psycopg.connect(postgres_url) as con:
        expected = con.execute(
            "select count(*), sum(id), sum(n)::text, md5(string_agg(t, '' order by id)) from wide"
        ).fetchone()
    got = warehouse(
        root,
        "select count(*), sum(id), sum(n)::varchar, md5(string_agg(t, '' order by id)) "
        "from raw.pg_wide",
    )
    assert got == [(expected[0], expected[1], expected[2], expected[3])]  # type: ignore[index]
    assert warehouse(root, "select count(distinct id) from raw.pg_wide") == [(expected[0],)]  # type: ignore[index]


@pytest.mark.parametrize("transport", ["arrow", "native"])
def test_cursor_bounds_without_an_offset_are_utc_whatever_the_machine_zone(
    project_dir: Any, postgres_url: str, transport: str
) -> None:
    """``initial_value``/``end_value`` without an offset are UTC on both transports, also
    when the process runs in another zone (DuckDB's session zone follows ``TZ``)."""
    pg(
        postgres_url,
        EVENTS.format(kind="timestamptz"),
        "insert into events values (1, 'in', '2024-01-01 02:00:00+00'), "
        "(2, 'after', '2024-01-01 06:00:00+00'), (3, 'before', '2023-12-31 23:00:00+00')",
    )
    root = project(
        project_dir,
        postgres_url,
        source(
            tables=["events"],
            primary_key=["id"],
            cursor="updated_at",
            initial_value="2024-01-01 00:00:00",
            end_value="2024-01-01 05:00:00",
            write="merge",
            transport=transport,
        ),
    )
    env = {**os.environ, "TZ": "America/New_York"}  # UTC-5: the window would be 05:00-10:00
    done = subprocess.run(
        [sys.executable, "-m", "headwater", "run", "-p", str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert warehouse(root, "select id from raw.pg_events order by id") == [(1,)]


def test_native_small_window_is_one_query(
    project_dir: Any, postgres_server: Any, postgres_url: str
) -> None:
    """A window the planner expects to be small is read with one query, which the server
    can answer with the cursor's index; the full first read goes in parallel page ranges
    (each of which reads its pages whatever the filter)."""
    database = postgres_url.rsplit("/", 1)[1]
    pg(
        postgres_url,
        "create table big (id integer primary key, v text, updated_at timestamptz not null)",
        "create index big_updated_at on big (updated_at)",
        "insert into big select g, repeat(md5(g::text), 4), "
        "timestamptz '2024-01-01' + g * interval '1 s' from generate_series(1, 100000) g",
        "analyze big",
        f"alter database {database} set log_statement = 'all'",  # this database only
    )
    root = project(
        project_dir,
        postgres_url,
        source(
            tables=["big"],
            primary_key=["id"],
            cursor="updated_at",
            write="merge",
            transport="native",
        ),
    )

    def copies_of_big(after: int) -> list[str]:
        text = postgres_server.log_path.read_bytes()[after:].decode(errors="replace")
        return [line for line in text.splitlines() if "COPY (SELECT" in line and '"big"' in line]

    start = postgres_server.log_path.stat().st_size
    load(root)  # the first, full read: several page ranges (the table spans > 1000 pages)
    assert len(copies_of_big(start)) > 1
    assert all("ctid" in line for line in copies_of_big(start))
    pg(
        postgres_url,
        "insert into big select g, 'new', timestamptz '2025-01-01' + g * interval '1 s' "
        "from generate_series(100001, 100010) g",
    )
    start = postgres_server.log_path.stat().st_size
    assert load(root)["rows_in"] == 11  # the boundary row again, and the ten new ones
    (window,) = copies_of_big(start)
    assert "ctid" not in window and "updated_at" in window
    assert warehouse(root, "select count(*), count(distinct id) from raw.pg_big") == [
        (100010, 100010)
    ]
