"""Checks and quarantine on the PostgreSQL warehouse, through the quality layer as on
DuckDB: the same rows quarantined (in ``quarantine.<table>``), the same check outcomes, a
failing model check keeps the previous table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import query_warehouse, write_project

TOML = """
[sources.orders]
files = "drops/*.csv"
primary_key = ["id"]
write = "merge"

[[sources.orders.checks]]
type = "range"
column = "qty"
min = 1
on_fail = "quarantine"

[[sources.orders.checks]]
type = "accepted_values"
column = "status"
values = ["new", "paid"]
on_fail = "quarantine"

[[sources.orders.checks]]
type = "row_count"
min = 1

[[sources.orders.checks]]
type = "unique"
column = "id"
"""

SIDE = """\
materialized: table
checks:
  - type: expression
    sql: "qty < {limit}"
  - type: not_null
    column: status
    severity: warn
"""


def _project(root: Path, warehouse: str | None, limit: int) -> Path:
    engine = f'engine = "postgres"\nwarehouse = "{warehouse}"\n' if warehouse else ""
    write_project(
        root,
        {
            "headwater.toml": f'[project]\nname = "shop"\n{engine}\n' + TOML,
            "drops/1.csv": "id,qty,status\n1,2,new\n2,-1,new\n3,5,lost\n4,0,weird\n5,3,paid\n",
            "models/marts/orders_typed.sql": (
                "select cast(id as integer) as id, cast(qty as integer) as qty, status "
                "from raw.orders"
            ),
            "models/marts/orders_typed.yml": SIDE.format(limit=limit),
        },
    )
    return root


def _outcome(root: Path) -> dict[str, Any]:
    result = run(load_project(root))
    return {
        "steps": {name: step.status for name, step in result.steps.items()},
        "quarantined": query_warehouse(
            root, "select cast(id as integer), _hw_check from quarantine.orders order by 1"
        ),
        "typed": query_warehouse(root, "select id, qty, status from marts.orders_typed order by 1"),
    }


def test_checks_and_quarantine_answer_as_on_duckdb(tmp_path: Path, postgres_url: str) -> None:
    duck = _project(tmp_path / "duck", None, limit=100)
    pg = _project(tmp_path / "pg", postgres_url, limit=100)
    first = _outcome(pg)
    assert first == _outcome(duck)
    assert first["quarantined"] == [
        (2, "range_qty"), (3, "accepted_values_status"), (4, "range_qty,accepted_values_status"),
    ]  # fmt: skip
    assert [r[0] for r in first["typed"]] == [1, 5]
    # a model check failing (qty < 3 fails row 5) keeps the previous table and blocks nothing
    for root in (duck, pg):
        _project(root, None if root == duck else postgres_url, limit=3)
    second = _outcome(pg)
    assert second == _outcome(duck)
    assert second["steps"]["marts.orders_typed"] != "success"
    assert second["typed"] == first["typed"]
