"""A jaffle-shop-like project run on PostgreSQL (``[project] engine = "postgres"``) builds
the tables it builds on DuckDB: CSV files read here and COPYed, a SQLite source with each
write disposition, staging views, marts and an incremental model."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import query_warehouse, write_project

SOURCES = """
[connections.shop]
url = "sqlite:///shop.sqlite"

[sources.shop]
connection = "shop"
tables = ["orders"]
primary_key = ["id"]
write = "{write}"

[sources.customers]
files = "drops/customers*.csv"
primary_key = ["id"]
write = "merge"
"""

MODELS = {
    "models/staging/stg_orders.sql": (
        "select id, customer_id, cast(amount as decimal(10, 2)) as amount, status, "
        "cast(ordered_at as date) as ordered_at from raw.shop_orders"
    ),
    "models/staging/stg_orders.yml": "materialized: view\n",
    "models/staging/stg_customers.sql": (
        "select cast(id as integer) as id, first_name, last_name from raw.customers"
    ),
    "models/marts/customers.sql": (
        "select c.id, c.first_name || ' ' || c.last_name as name, count(o.id) as orders, "
        "coalesce(sum(o.amount), 0) as lifetime_value, min(o.ordered_at) as first_order, "
        "list(o.status order by o.ordered_at, o.id) as statuses "
        "from stg_customers c left join stg_orders o on o.customer_id = c.id "
        "group by c.id, c.first_name, c.last_name"
    ),
    "models/marts/daily.sql": (
        "select ordered_at, count(*) as orders, sum(amount) as revenue, "
        "dayofweek(ordered_at) as dow from stg_orders group by ordered_at"
    ),
    "models/marts/daily.yml": "materialized: incremental\nunique_key: [ordered_at]\n",
}

ORDERS = [
    (1, 1, 12.5, "placed", "2024-01-06"),
    (2, 1, 7.25, "shipped", "2024-01-07"),
    (3, 2, 3.0, "returned", "2024-01-07"),
]
MORE_ORDERS = [(2, 1, 7.25, "delivered", "2024-01-08"), (4, 3, 40.1, "placed", "2024-01-08")]


def _project(root: Path, write: str, warehouse: str | None) -> Path:
    engine = f'engine = "postgres"\nwarehouse = "{warehouse}"\n' if warehouse else ""
    files = {
        "headwater.toml": f'[project]\nname = "jaffle"\n{engine}\n' + SOURCES.format(write=write),
        "drops/customers1.csv": "id,first_name,last_name\n1,Ann,Lee\n2,Bo,Ray\n3,Cy,Oz\n",
        **MODELS,
    }
    write_project(root, files)
    return root


def _orders(root: Path, rows: list[tuple[Any, ...]]) -> None:
    con = sqlite3.connect(root / "shop.sqlite")
    con.execute(
        "create table if not exists orders (id integer, customer_id integer, amount real, "
        "status text, ordered_at text)"
    )
    con.executemany("insert into orders values (?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()


def _contents(root: Path, table: str) -> list[tuple[Any, ...]]:
    rows = query_warehouse(root, f"select * from {table} order by 1")
    return [tuple(float(v) if hasattr(v, "as_tuple") else v for v in r) for r in rows]


@pytest.mark.parametrize("write", ["append", "replace", "merge", "scd2"])
def test_the_project_builds_on_postgres_as_on_duckdb(
    write: str, tmp_path: Path, postgres_url: str
) -> None:
    roots = {
        "duckdb": _project(tmp_path / "duck", write, None),
        "postgres": _project(tmp_path / "pg", write, postgres_url),
    }
    for root in roots.values():
        _orders(root, ORDERS)
    for new_rows in (MORE_ORDERS, []):  # the second run reads a new and a changed row
        for name, root in roots.items():
            result = run(load_project(root))
            assert result.status == "success", [
                (name, k, v.error) for k, v in result.steps.items() if v.error
            ]
            _orders(root, new_rows)
    data = "id, customer_id, amount, status, ordered_at"
    for table in [
        "marts.customers",
        "marts.daily",
        "staging.stg_customers",
        f"(select {data} from raw.shop_orders) s",
    ]:
        assert _contents(roots["postgres"], table) == _contents(roots["duckdb"], table), table
