"""``headwater init``: a small project that runs as soon as it is written."""

from __future__ import annotations

from pathlib import Path

from headwater.errors import HeadwaterError

FILES: dict[str, str] = {
    "headwater.toml": """\
[project]
name = "example"

[sources.customers]
files = "data/customers.csv"
primary_key = ["id"]
write = "merge"
cursor = "updated_at"

[sources.orders]
files = "data/orders/*.csv"
primary_key = ["id"]
write = "merge"
cursor = "updated_at"

[pipelines.daily]
select = ["+revenue_by_customer"]
# to run it every day at 06:00 under `headwater server`: schedule = "0 6 * * *"
""",
    "data/customers.csv": "id,name,updated_at\n1,Ada,2026-01-01\n2,Grace,2026-01-02\n",
    "data/orders/2026-01-03.csv": "id,customer_id,amount,updated_at\n10,1,12.50,2026-01-03\n11,2,7.00,2026-01-03\n12,1,3.25,2026-01-03\n",
    "models/staging/stg_orders.sql": """\
select cast(id as integer) as order_id,
       cast(customer_id as integer) as customer_id,
       cast(amount as decimal(12, 2)) as amount
from raw.orders
""",
    "models/marts/revenue_by_customer.sql": """\
-- headwater:
--   materialized: table
--   description: Revenue per customer.
select c.name, sum(o.amount) as revenue, count(*) as orders
from stg_orders o join raw.customers c on c.id::integer = o.customer_id
group by all
""",
    "python/features.py": '''\
from headwater import model


@model(materialized="table")
def order_sizes(stg_orders):
    """Orders bucketed by size: a Python model receives DuckDB relations."""
    return stg_orders.aggregate("amount > 5 as large, count(*) as orders")
''',
    ".gitignore": ".headwater/\n",
}


def scaffold(directory: Path) -> list[Path]:
    if (directory / "headwater.toml").exists():
        raise HeadwaterError(f"{directory / 'headwater.toml'} already exists")
    written = []
    for rel, text in FILES.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
