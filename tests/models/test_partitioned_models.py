"""Partitioned models: a run with a data interval replaces only that interval's rows; the
metastore records which grain units are built, failed or missing (`headwater partitions`).

Real projects (a CSV source, a DuckDB warehouse, the SQLite metastore) driven through the
CLI in-process; each day's rows are told apart by the source load that brought them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from headwater.testing.cli import invoke, write_project

TOML = """
[sources.orders]
files = "data/*.csv"
primary_key = ["id"]
write = "merge"

[pipelines.daily]
select = ["orders+"]
schedule = "0 0 * * *"
timezone = "{tz}"
start = "2026-03-01"
"""
MODEL = """-- headwater:
--   materialized: table
--   partition_by: order_date
--   grain: day
select order_date::date as order_date, sum(amount::integer) as amount,
       max(_hw_load_id) as load_id
from orders
where order_date::date >= getvariable('interval_start')
  and order_date::date < getvariable('interval_end')
group by all
"""


def _rows(days: dict[str, int]) -> str:
    return "id,order_date,amount\n" + "".join(
        f"{i},{day},{amount}\n" for i, (day, amount) in enumerate(days.items(), 1)
    )


def _project(tmp_path: Path, days: dict[str, int], tz: str = "UTC", model: str = MODEL) -> Path:
    return write_project(
        tmp_path / "shop",
        {
            "headwater.toml": TOML.format(tz=tz),
            "data/orders.csv": _rows(days),
            "models/marts/daily_sales.sql": model,
        },
    )


def _table(root: Path) -> dict[str, tuple[int, int]]:
    with duckdb.connect(str(root / ".headwater/warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("select order_date, amount, load_id from marts.daily_sales").fetchall()
    return {str(day): (amount, load_id) for day, amount, load_id in rows}


def _partitions(root: Path, *args: str) -> list[dict[str, str]]:
    done = invoke("partitions", "daily_sales", "-p", str(root), "-f", "json", *args)
    assert done.exit_code == 0, done.output
    return list(json.loads(done.stdout))


DAYS = {"2026-03-01": 10, "2026-03-02": 20, "2026-03-03": 30}


def test_reprocessing_one_day_rewrites_only_that_days_rows(tmp_path: Path) -> None:
    root = _project(tmp_path, DAYS)
    done = invoke(
        "backfill", "daily", "--start", "2026-03-01", "--end", "2026-03-04", "-p", str(root)
    )
    assert done.exit_code == 0, done.output
    assert done.stdout.count(" success ") == 3, done.stdout
    before = _table(root)
    assert {day: v[0] for day, v in before.items()} == DAYS
    assert [p["status"] for p in _partitions(root)] == ["built"] * 3

    # the source changes for one day; only that day is rebuilt
    (root / "data/orders.csv").write_text(_rows({**DAYS, "2026-03-02": 25}))
    done = invoke(
        "backfill", "daily", "--start", "2026-03-02", "--end", "2026-03-03",
        "--reprocess", "all", "-p", str(root),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    after = _table(root)
    assert after["2026-03-02"][0] == 25
    assert after["2026-03-02"][1] != before["2026-03-02"][1]  # built from the new load
    # the other days' rows are the ones built before, untouched (their load id included,
    # although the source reloaded every row of the file)
    assert after["2026-03-01"] == before["2026-03-01"]
    assert after["2026-03-03"] == before["2026-03-03"]


def test_a_failing_interval_is_recorded_failed_and_keeps_its_old_rows(tmp_path: Path) -> None:
    root = _project(tmp_path, DAYS)
    done = invoke(
        "backfill", "daily", "--start", "2026-03-01", "--end", "2026-03-04", "-p", str(root)
    )
    assert done.exit_code == 0, done.output
    before = _table(root)
    # the model now fails for 2 March only (DuckDB's error() raises when evaluated)
    broken = MODEL.replace(
        "sum(amount::integer) as amount",
        "sum(case when order_date = '2026-03-02' then error('bad day')::integer "
        "else amount::integer end) as amount",
    )
    (root / "models/marts/daily_sales.sql").write_text(broken)
    done = invoke(
        "backfill", "daily", "--start", "2026-03-01", "--end", "2026-03-04",
        "--reprocess", "all", "-p", str(root),
    )  # fmt: skip
    assert done.exit_code == 5, done.output
    assert done.stdout.count(" failed ") == 1 and "bad day" not in done.stdout
    after = _table(root)
    assert after["2026-03-02"] == before["2026-03-02"]  # the failed build rolled back
    listed = _partitions(root, "--start", "2026-02-28", "--end", "2026-03-05")
    assert [(p["start"][:10], p["status"]) for p in listed] == [
        ("2026-02-28", "missing"),
        ("2026-03-01", "built"),
        ("2026-03-02", "failed"),
        ("2026-03-03", "built"),
        ("2026-03-04", "missing"),
    ]
    table = invoke("partitions", "daily_sales", "-p", str(root))
    assert table.exit_code == 0 and "failed" in table.stdout, table.output


def test_rows_outside_the_interval_fail_the_build_in_one_line(tmp_path: Path) -> None:
    careless = "\n".join(line for line in MODEL.splitlines() if "getvariable" not in line)
    root = _project(
        tmp_path, DAYS, model=careless.replace("group by all", "where true group by all")
    )
    done = invoke(
        "backfill", "daily", "--start", "2026-03-01", "--end", "2026-03-02", "-p", str(root)
    )
    assert done.exit_code == 5, done.output
    shown = invoke("runs", "-p", str(root), "-f", "json")
    run_id = json.loads(shown.stdout)[0]["run_id"]
    detail = invoke("show", run_id, "-p", str(root), "-f", "json").stdout
    assert "outside the interval" in detail and "getvariable('interval_start')" in detail


def test_an_interval_off_the_grain_is_refused_in_one_line(tmp_path: Path) -> None:
    root = _project(tmp_path, DAYS)
    done = invoke(
        "run", "--pipeline", "daily", "--interval-start", "2026-03-01T06:00",
        "--interval-end", "2026-03-02", "-p", str(root),
    )  # fmt: skip
    assert done.exit_code == 2, done.output
    assert done.stderr.count("\n") == 1 and "not on a day boundary" in done.stderr
    assert "Traceback" not in done.output
    assert not (root / ".headwater/warehouse.duckdb").exists() or _table(root) == {}


def test_a_plain_run_builds_whole_and_an_interval_run_only_its_days(tmp_path: Path) -> None:
    root = _project(tmp_path, DAYS)
    assert invoke("run", "-p", str(root)).exit_code == 0
    whole = _table(root)
    assert {day: v[0] for day, v in whole.items()} == DAYS
    (root / "data/orders.csv").write_text(
        _rows({"2026-03-01": 11, "2026-03-02": 21, "2026-03-03": 31})
    )
    done = invoke(
        "run", "--pipeline", "daily", "--interval-start", "2026-03-02",
        "--interval-end", "2026-03-04", "-p", str(root),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert {day: v[0] for day, v in _table(root).items()} == {
        "2026-03-01": 10,
        "2026-03-02": 21,
        "2026-03-03": 31,
    }


def test_a_berlin_day_across_the_spring_change_covers_23_hours(tmp_path: Path) -> None:
    """Hourly events, partitioned by day in Europe/Berlin: 29 March 2026 (clocks go from
    02:00 to 03:00) is 23 hours long, and its partition holds 23 hourly events."""
    first = datetime.fromisoformat("2026-03-27T23:00:00+00:00")  # 28 March, 00:00 CET
    events = "id,ts\n" + "".join(
        f"{h},{(first + timedelta(hours=h)).isoformat()}\n" for h in range(24 + 23 + 24)
    )
    model = """-- headwater:
--   materialized: table
--   partition_by: event_day
--   grain: day
select (ts::timestamptz at time zone 'Europe/Berlin')::date as event_day, count(*) as events,
       max(_hw_load_id) as load_id
from events
where ts::timestamptz >= getvariable('interval_start')
  and ts::timestamptz < getvariable('interval_end')
group by all
"""
    toml = (
        TOML.format(tz="Europe/Berlin")
        .replace("orders", "events")
        .replace('primary_key = ["id"]', 'primary_key = ["id"]\ncolumn_types = {ts = "VARCHAR"}')
    )
    root = write_project(
        tmp_path / "dst",
        {"headwater.toml": toml, "data/events.csv": events, "models/marts/per_day.sql": model},
    )
    done = invoke(
        "backfill", "daily", "--start", "2026-03-28", "--end", "2026-03-31", "-p", str(root)
    )
    assert done.exit_code == 0, done.output
    listed = json.loads(invoke("partitions", "per_day", "-p", str(root), "-f", "json").stdout)
    hours = [
        (datetime.fromisoformat(p["end"]) - datetime.fromisoformat(p["start"])) / timedelta(hours=1)
        for p in listed
    ]
    assert hours == [24, 23, 24]
    with duckdb.connect(str(root / ".headwater/warehouse.duckdb"), read_only=True) as con:
        counts = dict(
            con.execute("select event_day::varchar, events from marts.per_day").fetchall()
        )
    assert counts == {"2026-03-28": 24, "2026-03-29": 23, "2026-03-30": 24}
