"""`headwater backfill --single-run`: one run over the range builds what one run per
interval builds (same warehouse table, every grain unit recorded built, every ledger
interval finished), and a pipeline with a model that cannot is refused before anything
runs (exit 2). Real projects, the CLI in-process (no server)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from headwater import api
from headwater.metastore import Metastore
from headwater.testing.cli import invoke, write_project

TOML = """
[sources.orders]
files = "data/*.csv"
primary_key = ["id"]
write = "merge"

[pipelines.daily]
select = ["orders+"]
schedule = "0 0 * * *"
timezone = "Europe/Berlin"
start = "2026-03-20"
"""
MODEL = """-- headwater:
--   materialized: table
--   partition_by: order_date
--   grain: day
select order_date::date as order_date, count(*) as orders, sum(amount::integer) as amount
from orders
where order_date::date >= getvariable('interval_start')
  and order_date::date < getvariable('interval_end')
group by all
"""
FIRST = date(2026, 3, 26)  # five days over Berlin's spring change (29 March: 23 hours)
RANGE = ("--start", str(FIRST), "--end", str(FIRST + timedelta(days=5)))


def _project(root: Path, extra: dict[str, str] | None = None) -> Path:
    orders = "id,order_date,amount\n" + "".join(
        f"{n},{FIRST + timedelta(days=n % 7 - 1)},{n}\n" for n in range(40)
    )  # 40 orders over 7 days: the day before the range and the one after it too
    return write_project(
        root,
        {
            "headwater.toml": TOML,
            "data/orders.csv": orders,
            "models/marts/daily_sales.sql": MODEL,
            **(extra or {}),
        },
    )


def _table(root: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(root / ".headwater" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select * from marts.daily_sales order by order_date").fetchall()


def _store(root: Path) -> Metastore:
    return Metastore.open(api.open_project(root).metastore_url)


def test_single_run_equals_one_run_per_interval(tmp_path: Path) -> None:
    each = _project(tmp_path / "each")
    one = _project(tmp_path / "one")
    separate = invoke("backfill", "daily", *RANGE, "-p", str(each))
    single = invoke("backfill", "daily", *RANGE, "--single-run", "-p", str(one))
    assert separate.exit_code == 0, separate.output
    assert single.exit_code == 0, single.output
    assert "5 interval(s) in one run" in single.stdout

    assert _table(one) == _table(each)
    assert [r[0] for r in _table(one)] == [FIRST + timedelta(days=d) for d in range(5)]
    with _store(one) as store:
        runs = [r for r in store.runs(100) if r.trigger == "backfill"]
        ledger = store.intervals("daily")
        built = store.partitions("marts.daily_sales", None, None)
    assert len(runs) == 1 and runs[0].status == "success"
    assert len(ledger) == 5
    assert {(r.status, r.run_id) for r in ledger} == {("success", runs[0].run_id)}
    assert [(p.status, p.run_id) for p in built] == [("built", runs[0].run_id)] * 5
    with _store(each) as store:
        assert [p.partition_start for p in store.partitions("marts.daily_sales", None, None)] == [
            p.partition_start for p in built
        ]  # the same grain units as the five runs
    listed = invoke("partitions", "marts.daily_sales", *RANGE, "-f", "json", "-p", str(one))
    assert listed.exit_code == 0 and listed.stdout.count('"built"') == 5

    again = invoke("backfill", "daily", *RANGE, "--single-run", "-p", str(one))
    assert again.exit_code == 0 and "nothing to run" in again.stdout
    redo = invoke("backfill", "daily", *RANGE, "--single-run", "--reprocess", "all",
                  "-p", str(one))  # fmt: skip
    assert redo.exit_code == 0, redo.output
    assert _table(one) == _table(each)


def test_single_run_refuses_an_incremental_model_before_running_anything(
    tmp_path: Path,
) -> None:
    incremental = "-- headwater:\n--   materialized: incremental\n--   unique_key: [id]\n"
    root = _project(
        tmp_path / "shop",
        {"models/marts/all_orders.sql": incremental + "select id, amount from orders\n"},
    )
    done = invoke("backfill", "daily", *RANGE, "--single-run", "-p", str(root))
    assert done.exit_code == 2, done.output
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "all_orders.sql" in lines[0] and "incremental without partition_by" in lines[0]
    with _store(root) as store:
        assert store.intervals("daily") == [] and store.runs(10) == []
    assert not (root / ".headwater" / "warehouse.duckdb").exists()


def test_single_run_refuses_a_range_off_a_models_grain(tmp_path: Path) -> None:
    monthly = MODEL.replace("grain: day", "grain: month").replace("daily_sales", "monthly")
    root = _project(tmp_path / "shop", {"models/marts/monthly.sql": monthly})
    done = invoke("backfill", "daily", *RANGE, "--single-run", "-p", str(root))
    assert done.exit_code == 2, done.output
    assert "--single-run" in done.stderr and "month boundary" in done.stderr
    with _store(root) as store:
        assert store.intervals("daily") == []
