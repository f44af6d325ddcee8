"""Checks inside real runs: quarantine on load, write-audit-publish, blocking, history."""

from __future__ import annotations

import sqlalchemy as sa

from headwater.metastore import Metastore
from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import invoke
from headwater.testing.cli import query_warehouse as q

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


def files(limit: int = 100) -> dict[str, str]:
    return {
        "headwater.toml": TOML,
        "drops/1.csv": "id,qty,status\n1,2,new\n2,-1,new\n3,5,lost\n4,0,weird\n5,3,paid\n",
        "models/marts/orders_typed.sql": "select id::int as id, qty::int as qty, status from raw.orders",
        "models/marts/orders_typed.yml": SIDE.format(limit=limit),
        "models/marts/after.sql": "select count(*) as n from orders_typed",
    }


def test_quarantine_on_load_and_history(project_dir):
    root = project_dir(files())
    result = run(load_project(root))
    assert result.status == "success", {k: v.error for k, v in result.steps.items()}
    assert q(root, "select id from raw.orders order by id") == [("1",), ("5",)]
    quarantined = q(root, "select id, _hw_check, _hw_reason from quarantine.orders order by id")
    assert [(r[0], r[1]) for r in quarantined] == [
        ("2", "range_qty"),
        ("3", "accepted_values_status"),
        ("4", "range_qty,accepted_values_status"),
    ]
    assert result.steps["raw.orders"].result["quarantined"] == 3
    store = Metastore.open(load_project(root).metastore_url)
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select asset, check_name, status, failing from check_results order by asset, check_name"
            )
        ).fetchall()
    store.close()
    statuses = {(a, c): s for a, c, s, _ in rows}
    assert statuses[("raw.orders", "range_qty")] == "warn"  # quarantined rows warn by default
    assert (
        statuses[("raw.orders", "row_count_min_1")]
        if ("raw.orders", "row_count_min_1") in statuses
        else statuses[next(k for k in statuses if k[1].startswith("row_count"))] == "pass"
    )
    assert "pass" in statuses.values()
    summary = invoke("quarantine", "-p", str(root))
    assert summary.exit_code == 0 and "orders" in summary.stdout


def test_failing_check_keeps_the_old_table_and_blocks_downstream(project_dir):
    root = project_dir(files(limit=100))
    assert run(load_project(root)).status == "success"
    (root / "models/marts/orders_typed.yml").write_text(SIDE.format(limit=3))  # qty 3 now fails
    (root / "drops/2.csv").write_text("id,qty,status\n6,1,paid\n")
    result = run(load_project(root))
    step = result.steps["marts.orders_typed"]
    assert step.status == "check_failed"
    assert "expression" in step.error and "1 check failed" in step.error
    assert result.steps["marts.after"].status == "blocked_by_check"
    assert step.attempts == 1  # not retried
    # write-audit-publish: the table still holds the previous build (ids 1 and 5, not 6)
    assert q(root, "select id from marts.orders_typed order by id") == [(1,), (5,)]
    assert result.status == "failed"


def test_check_command_and_release_after_a_fix(project_dir):
    root = project_dir(files())
    run(load_project(root))
    checked = invoke("check", "-p", str(root))
    assert checked.exit_code == 0, checked.output
    assert "expression_qty_100" in checked.stdout and "3 checks: 3 pass" in checked.stdout
    # widen the accepted values: 'lost' is now valid; row 4 (qty 0) still fails range_qty
    toml = (
        (root / "headwater.toml")
        .read_text()
        .replace('values = ["new", "paid"]', 'values = ["new", "paid", "lost", "weird"]')
    )
    (root / "headwater.toml").write_text(toml)
    released = invoke("quarantine", "release", "orders", "-p", str(root))
    assert released.exit_code == 0, released.output
    assert "released 1 rows" in released.stdout and "2 still fail" in released.stdout
    assert q(root, "select id from raw.orders order by id") == [("1",), ("3",), ("5",)]
    assert q(root, "select id from quarantine.orders order by id") == [("2",), ("4",)]
    # the released row came in under a load of its own, after the run's, outside any run
    [(first, released_id)] = q(root, "select min(_hw_load_id), max(_hw_load_id) from raw.orders")
    assert released_id > first
    assert q(root, "select id from raw.orders where _hw_load_id = ?", [released_id]) == [("3",)]
    loads = "select run_id is null from _headwater.loads where load_id = ? "
    assert q(root, loads, [first]) == [(False,)] and q(root, loads, [released_id]) == [(True,)]
    discarded = invoke("quarantine", "discard", "orders", "--check", "range_qty", "-p", str(root))
    assert "discarded 2" in discarded.stdout
    assert q(root, "select count(*) from quarantine.orders") == [(0,)]
    # the watermark/state is untouched by a release, and a rerun loads nothing new
    again = run(load_project(root))
    assert again.steps["raw.orders"].result["rows_in"] == 0


def test_blocking_check_command_exits_5(project_dir):
    root = project_dir(files())
    run(load_project(root))
    (root / "models/marts/orders_typed.yml").write_text(SIDE.format(limit=2))
    result = invoke("check", "-p", str(root), "-s", "orders_typed")
    assert result.exit_code == 5
    assert "fail" in result.stdout


def test_check_on_a_missing_column_fails_before_any_data_moves(project_dir):
    root = project_dir(files())
    run(load_project(root))
    (root / "models/marts/orders_typed.yml").write_text(
        "materialized: table\nchecks:\n  - type: not_null\n    column: stauts\n"
    )
    (root / "drops/3.csv").write_text("id,qty,status\n7,1,paid\n")
    result = invoke("run", "-p", str(root))
    assert result.exit_code == 2
    assert "orders_typed.yml:3" in result.stderr and "stauts" in result.stderr
    assert q(root, "select count(*) from raw.orders where id = '7'") == [(0,)]  # nothing loaded
