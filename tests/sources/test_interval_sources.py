"""Sources bounded by the run's data interval (``interval_column``, a query's
``:interval_start``/``:interval_end``): a backfill loads each interval's rows once, rows
outside the range stay as they were, a run without an interval reads as always, and
settings that cannot work are refused at load with one located line. Real SQLite files,
a real PostgreSQL server (tests/conftest.py), the CLI in-process."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from headwater.testing.cli import invoke, write_project

FIRST = datetime(2026, 3, 1)
DAYS = 6  # 2026-03-01 .. 2026-03-06, four rows a day (00:00, 06:00, 12:00, 18:00)
PIPELINE = """
[pipelines.daily]
select = ["{asset}"]
schedule = "0 0 * * *"
start = 2026-03-01
"""


def _rows(version: int) -> list[tuple[int, str, int]]:
    """(id, updated_at, amount): four rows a day; ``amount`` tells the rows' version."""
    return [
        (i, (FIRST + timedelta(hours=6 * i)).strftime("%Y-%m-%d %H:%M:%S"), version)
        for i in range(DAYS * 4)
    ]


def _sqlite(path: Path, version: int) -> None:
    with sqlite3.connect(path) as con:
        con.execute("create table if not exists orders (id integer, updated_at text, amount int)")
        con.execute("delete from orders")
        con.executemany("insert into orders values (?, ?, ?)", _rows(version))


def _warehouse(root: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(root / ".headwater" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def _amounts(root: Path, table: str) -> dict[str, int]:
    """Each row's day -> the version of its amount, and no id twice."""
    rows = _warehouse(root, f"select id, updated_at::varchar, amount::int from {table} order by id")
    assert len({r[0] for r in rows}) == len(rows), "an id loaded twice"
    days: dict[str, set[int]] = {}
    for _, at, amount in rows:
        days.setdefault(at[:10], set()).add(amount)
    assert all(len(v) == 1 for v in days.values()), days
    return {day: next(iter(v)) for day, v in sorted(days.items())}


def _loads(root: Path, asset: str) -> list[int]:
    found = _warehouse(
        root,
        f"select rows_read from _headwater.loads where asset = '{asset}' order by load_id",
    )
    return [r[0] for r in found]


def _backfill_three_days(root: Path, asset: str, table: str, change: Any) -> None:
    """Load all (version 1), change every source row (version 2), backfill three days:
    only those days take version 2, each read once (four rows), the others keep 1."""
    whole = invoke("run", "-p", str(root))
    assert whole.exit_code == 0, whole.output
    assert set(_amounts(root, table).values()) == {1} and len(_amounts(root, table)) == DAYS
    change()
    done = invoke(
        "backfill", "daily", "--start", "2026-03-02", "--end", "2026-03-05", "-p", str(root)
    )
    assert done.exit_code == 0, done.output
    assert _amounts(root, table) == {
        "2026-03-01": 1,
        "2026-03-02": 2,
        "2026-03-03": 2,
        "2026-03-04": 2,
        "2026-03-05": 1,
        "2026-03-06": 1,
    }
    assert _loads(root, asset) == [DAYS * 4, 4, 4, 4]  # the whole, then each day once
    again = invoke(
        "backfill", "daily", "--start", "2026-03-02", "--end", "2026-03-05", "-p", str(root)
    )
    assert "nothing to run" in again.output  # the ledger: each day once
    assert _loads(root, asset) == [DAYS * 4, 4, 4, 4]


def test_sqlite_table_bounded_by_the_interval(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    (root / "data").mkdir(parents=True)
    _sqlite(root / "data" / "shop.sqlite", 1)
    toml = (
        '[connections.shop]\nurl = "sqlite:///data/shop.sqlite"\n'
        '[sources.shop]\nconnection = "shop"\ntables = ["orders"]\n'
        'primary_key = ["id"]\nwrite = "merge"\ncursor = "updated_at"\n'
        'interval_column = "updated_at"\n' + PIPELINE.format(asset="raw.shop_orders")
    )
    write_project(root, {"headwater.toml": toml})
    _backfill_three_days(
        root,
        "raw.shop_orders",
        "raw.shop_orders",
        lambda: _sqlite(root / "data" / "shop.sqlite", 2),
    )


def test_sqlite_query_reads_the_interval_as_named_parameters(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    (root / "data").mkdir(parents=True)
    _sqlite(root / "data" / "shop.sqlite", 1)
    query = (
        "select * from orders where updated_at >= :interval_start and updated_at < :interval_end"
    )
    toml = (
        '[connections.shop]\nurl = "sqlite:///data/shop.sqlite"\n'
        f'[sources.recent]\nconnection = "shop"\nquery = "{query}"\n'
        'primary_key = ["id"]\nwrite = "merge"\n' + PIPELINE.format(asset="raw.recent")
    )
    write_project(root, {"headwater.toml": toml})
    one = invoke(
        "run", "--pipeline", "daily", "--interval-start", "2026-03-03",
        "--interval-end", "2026-03-04", "-p", str(root),
    )  # fmt: skip
    assert one.exit_code == 0, one.output
    assert _amounts(root, "raw.recent") == {"2026-03-03": 1}
    whole = invoke("run", "-p", str(root))  # no interval: the widest bounds, every row
    assert whole.exit_code == 0, whole.output
    assert len(_amounts(root, "raw.recent")) == DAYS


def _postgres(url: str, version: int) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(
            "create table if not exists orders (id int, updated_at timestamptz, amount int)"
        )
        con.execute("delete from orders")
        with con.cursor() as cur:
            cur.executemany(
                "insert into orders values (%s, %s::timestamp at time zone 'UTC', %s)",
                _rows(version),
            )


def test_postgres_table_and_query_bounded_by_the_interval(
    tmp_path: Path, postgres_url: str
) -> None:
    _postgres(postgres_url, 1)
    root = tmp_path / "shop"
    query = (
        "select * from orders where updated_at >= :interval_start and updated_at < :interval_end"
    )
    toml = (
        f'[connections.pg]\nurl = "{postgres_url}"\n'
        '[sources.pg]\nconnection = "pg"\ntables = ["orders"]\n'
        'primary_key = ["id"]\nwrite = "merge"\ninterval_column = "updated_at"\n'
        f'[sources.recent]\nconnection = "pg"\nquery = "{query}"\n'
        'primary_key = ["id"]\nwrite = "merge"\n'
        + PIPELINE.format(asset="raw.pg_orders").replace(
            '["raw.pg_orders"]', '["raw.pg_orders", "raw.recent"]'
        )
    )
    write_project(root, {"headwater.toml": toml})
    _backfill_three_days(root, "raw.pg_orders", "raw.pg_orders", lambda: _postgres(postgres_url, 2))
    # the query's parameters: the same three days, version 2; the first run (no
    # interval) read every row with the widest bounds
    assert _amounts(root, "raw.recent") == {
        "2026-03-01": 1,
        "2026-03-02": 2,
        "2026-03-03": 2,
        "2026-03-04": 2,
        "2026-03-05": 1,
        "2026-03-06": 1,
    }


@pytest.mark.parametrize(
    ("extra", "key", "why"),
    [
        ('write = "replace"\n', "sources.shop.interval_column", 'not with write = "replace"'),
        ('transport = "native"\n', "sources.shop.interval_column", "binds no parameters"),
    ],
)
def test_interval_column_that_cannot_work_is_refused_at_load(
    tmp_path: Path, extra: str, key: str, why: str
) -> None:
    root = tmp_path / "shop"
    (root / "data").mkdir(parents=True)
    _sqlite(root / "data" / "shop.sqlite", 1)
    toml = (
        '[connections.shop]\nurl = "sqlite:///data/shop.sqlite"\n'
        '[sources.shop]\nconnection = "shop"\ntables = ["orders"]\n'
        'interval_column = "updated_at"\n' + extra
    )
    write_project(root, {"headwater.toml": toml})
    found = invoke("run", "-p", str(root))
    assert found.exit_code == 2
    lines = found.stderr.strip().splitlines()
    assert len(lines) == 1, found.stderr
    assert "headwater.toml:" in lines[0] and key in lines[0] and why in lines[0]
    assert "Traceback" not in found.output


def test_interval_column_on_a_file_source_is_refused(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "shop",
        {
            "headwater.toml": '[sources.f]\nfiles = "d/*.csv"\ninterval_column = "day"\n',
        },
    )
    found = invoke("run", "-p", str(root))
    assert found.exit_code == 2
    assert "sources.f.interval_column: not read by a CSV source" in found.stderr
