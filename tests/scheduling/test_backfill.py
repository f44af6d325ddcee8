"""`headwater backfill`: the ledger decides what runs (reprocess missing, failed, all), a
backfill stopped by Ctrl-C resumes where it stopped, and a pipeline without a schedule is
refused. Real projects, in-process runs (no server) and one real subprocess for Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from headwater import api
from headwater.api.backfill import plan_backfill, run_backfill
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
start = "2026-01-01"
"""
MODEL = """-- headwater:
--   materialized: table
--   partition_by: order_date
--   grain: day
select order_date::date as order_date, sum(amount::integer) as amount
from orders
where order_date::date >= getvariable('interval_start')
  and order_date::date < getvariable('interval_end')
group by all
"""
FIRST = date(2026, 1, 1)


def _orders(days: int, bad: set[int] = frozenset()) -> str:  # type: ignore[assignment]
    """One order a day; on the days in ``bad`` its amount is no integer (the model fails)."""
    return "id,order_date,amount\n" + "".join(
        f"{d},{FIRST + timedelta(days=d)},{'oops' if d in bad else d}\n" for d in range(days)
    )


def _project(
    tmp_path: Path, extra: dict[str, str] | None = None, bad: set[int] = frozenset()
) -> Path:  # type: ignore[assignment]
    return write_project(
        tmp_path / "shop",
        {
            "headwater.toml": TOML,
            "data/orders.csv": _orders(30, bad),
            "models/marts/daily_sales.sql": MODEL,
            **(extra or {}),
        },
    )


def _backfill(root: Path, days: int, reprocess: str) -> dict[str, str]:
    """Backfill the first ``days`` days; each interval run (its start date) -> status."""
    todo = plan_backfill(
        root, "daily", str(FIRST), str(FIRST + timedelta(days=days)), reprocess=reprocess
    )
    return {str(o.interval.start.date()): o.status for o in run_backfill(root, "daily", todo)}


def test_reprocess_missing_failed_and_all_over_30_days(tmp_path: Path) -> None:
    root = _project(tmp_path, bad={4, 5})
    first = _backfill(root, 10, "missing")
    assert len(first) == 10
    assert sorted(d for d, s in first.items() if s == "failed") == ["2026-01-05", "2026-01-06"]

    # missing: only the 20 days never run (the failed ones stay failed)
    second = _backfill(root, 30, "missing")
    assert sorted(second) == [str(FIRST + timedelta(days=d)) for d in range(10, 30)]
    assert set(second.values()) == {"success"}
    assert _backfill(root, 30, "missing") == {}  # nothing left: runs nothing

    (root / "data/orders.csv").write_text(_orders(30))  # the bad rows fixed
    third = _backfill(root, 30, "failed")
    assert third == {"2026-01-05": "success", "2026-01-06": "success"}

    fourth = _backfill(root, 30, "all")
    assert len(fourth) == 30 and set(fourth.values()) == {"success"}

    with Metastore.open(api.open_project(root).metastore_url) as store:
        ledger = store.intervals("daily")
        runs = store.runs(1000)
    assert len(ledger) == 30 and {r.status for r in ledger} == {"success"}
    per_day = Counter(r.params["interval_start"][:10] for r in runs if r.trigger == "backfill")
    # every day: once by missing and once by all; the two bad days once more by failed
    assert per_day == {str(FIRST + timedelta(days=d)): 3 if d in (4, 5) else 2 for d in range(30)}


def test_a_pipeline_without_a_schedule_is_refused_in_one_line(tmp_path: Path) -> None:
    root = _project(
        tmp_path, {"headwater.toml": TOML + '\n[pipelines.adhoc]\nselect = ["orders"]\n'}
    )
    done = invoke(
        "backfill", "adhoc", "--start", "2026-01-01", "--end", "2026-01-05", "-p", str(root)
    )
    assert done.exit_code == 2, done.output
    assert done.stderr.count("\n") == 1 and "no schedule or every" in done.stderr
    bad = invoke("backfill", "daily", "--start", "2026-01-01", "--end", "2026-01-05",
                 "--reprocess", "some", "-p", str(root))  # fmt: skip
    assert bad.exit_code == 2 and "unknown reprocess mode" in bad.stderr, bad.output


SLOW = "-- headwater:\n--   materialized: table\nselect sum(range) as s from range({n})\n"


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _successes(root: Path) -> int:
    if not (root / ".headwater/metastore.sqlite").exists():  # the backfill creates it
        return 0
    with Metastore.open(f"sqlite:///{root / '.headwater/metastore.sqlite'}") as store:
        return len(store.intervals("daily", "success"))


def test_an_interrupted_backfill_resumes_and_runs_each_interval_once(tmp_path: Path) -> None:
    """Ctrl-C (a real SIGINT to a real process) in the middle of a backfill, then the same
    command again: every interval has exactly one successful run in all."""
    root = _project(
        tmp_path,
        {
            "models/marts/slow.sql": SLOW.format(n=150_000_000),
            "headwater.toml": TOML.replace('["orders+"]', '["orders+", "slow"]'),
        },
    )
    command = [sys.executable, "-m", "headwater", "backfill", "daily",
               "--start", "2026-01-01", "--end", "2026-01-07", "-p", str(root)]  # fmt: skip
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=os.environ.copy(), preexec_fn=_default_sigint,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while _successes(root) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.1)  # into the next interval's run
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    stopped_at = _successes(root)
    assert 2 <= stopped_at < 6

    again = invoke(*command[3:])
    assert again.exit_code == 0, again.output
    assert again.stdout.count(" success ") == 6 - stopped_at  # only what was left
    with Metastore.open(api.open_project(root).metastore_url) as store:
        runs = store.runs(100)
        ledger = store.intervals("daily")
    ok = Counter(r.params["interval_start"] for r in runs if r.status == "success")
    assert len(ledger) == 6 and {r.status for r in ledger} == {"success"}
    assert sorted(ok.values()) == [1] * 6
    assert {r.interval_start.isoformat() for r in ledger} == set(ok)


@pytest.mark.parametrize("mode", ["missing", "failed", "all"])
def test_reprocess_modes_queue_nothing_outside_the_range(tmp_path: Path, mode: str) -> None:
    root = _project(tmp_path)
    assert len(_backfill(root, 3, "missing")) == 3
    todo = plan_backfill(root, "daily", "2026-01-02", "2026-01-03", reprocess=mode)
    assert [str(i.start.date()) for i in todo] == (["2026-01-02"] if mode == "all" else [])
