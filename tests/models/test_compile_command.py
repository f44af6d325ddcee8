"""`headwater compile`: the plan and each model's SQL as it would run, touching nothing."""

from __future__ import annotations

import re
from pathlib import Path

from headwater.testing.cli import invoke, write_project

FILES = {
    "headwater.toml": '[sources.orders]\nfiles = "data/orders.csv"\n',
    "data/orders.csv": "id,amount\n1,2\n",
    "models/staging/stg_orders.sql": "select id, amount from orders",
    "models/marts/big.sql": "-- headwater:\n--   materialized: table\n"
    "select 42 as answer  -- kept as written",
    "python/sizes.py": "from headwater import model\n\n\n@model()\n"
    "def sizes(stg_orders):\n    return stg_orders\n",
}


def test_compile_prints_plan_and_compiled_sql_and_creates_nothing(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", FILES)
    result = invoke("compile", "-p", str(root), "-s", "+sizes", "-s", "big")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    plan = [m.group(1) for line in lines if (m := re.match(r"--   \d+\. (.*)", line))]
    assert sorted(plan) == [
        "marts.big (table)",
        "marts.sizes (python table)",
        "raw.orders (source)",
        "staging.stg_orders (view)",
    ]
    assert plan.index("raw.orders (source)") < plan.index("staging.stg_orders (view)")
    assert plan.index("staging.stg_orders (view)") < plan.index("marts.sizes (python table)")
    # the unqualified name is qualified as the engine will run it; the rest is as written
    assert "FROM raw.orders AS orders;" in result.stdout
    assert "select 42 as answer  -- kept as written;" not in result.stdout  # ; after a comment
    assert "select 42 as answer  -- kept as written\n;" in result.stdout
    assert f"-- marts.sizes: Python model {root / 'python/sizes.py'}:4" in result.stdout
    assert not (root / ".headwater").exists()


def test_compile_selection_and_exclusion(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", FILES)
    result = invoke("compile", "-p", str(root), "-s", "+stg_orders", "-x", "orders")
    assert result.exit_code == 0, result.output
    assert "-- plan: 1 steps, in execution order" in result.stdout
    assert "-- staging.stg_orders: view" in result.stdout and "marts.big" not in result.stdout
    assert not (root / ".headwater").exists()
