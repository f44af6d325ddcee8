"""Invariants 1 and 2 of docs/architecture.md: a run killed at any instant, then run again,
leaves exactly the warehouse an uninterrupted run leaves; a rerun with no new data changes
nothing."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from headwater.engines.duckdb.engine import DuckDBEngine
from headwater.metastore import Metastore
from headwater.project import load_project

pytestmark = pytest.mark.slow

TOML = """
[project]
name = "crash"
threads = 2

[connections.shop]
url = "sqlite:///shop.sqlite"

[sources.shop]
connection = "shop"
tables = ["orders", "items"]
primary_key = ["id"]
cursor = "updated_at"
write = "merge"

[sources.events]
files = "drops/*/events.csv"
primary_key = ["id"]
write = "merge"
"""

MODELS = {
    "models/staging/stg_orders.sql": "select id, customer, amount, updated_at from raw.shop_orders",
    "models/marts/revenue.sql": "-- headwater:\n--   materialized: table\n"
    "select customer, sum(amount) as revenue, count(*) as n from stg_orders group by 1",
    "models/marts/items_per_order.sql": "-- headwater:\n--   materialized: incremental\n--   unique_key: order_id\n"
    "select order_id, count(*) as n, sum(qty) as qty from raw.shop_items group by 1",
    "models/marts/event_counts.sql": "-- headwater:\n--   materialized: table\n"
    "select kind, count(*) as n from raw.events group by 1",
}


def build(root: Path, rows: int = 60_000) -> None:
    root.mkdir(parents=True)
    (root / "headwater.toml").write_text(TOML)
    for rel, text in MODELS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    con = sqlite3.connect(root / "shop.sqlite")
    con.execute(
        "create table orders (id integer primary key, customer integer, amount numeric(12,2), updated_at text)"
    )
    con.execute(
        "create table items (id integer primary key, order_id integer, qty integer, updated_at text)"
    )
    con.executemany(
        "insert into orders values (?, ?, ?, ?)",
        (
            (i, i % 997, f"{(i * 37) % 10000 / 100:.2f}", f"2026-01-01 00:{i % 60:02d}:00")
            for i in range(rows)
        ),
    )
    con.executemany(
        "insert into items values (?, ?, ?, ?)",
        ((i, i // 2, i % 5 + 1, f"2026-01-01 00:{i % 60:02d}:00") for i in range(rows * 2)),
    )
    con.commit()
    con.close()
    for day in range(3):
        folder = root / "drops" / f"day={day}"
        folder.mkdir(parents=True)
        lines = "".join(
            f"{day * 100000 + i},{'click' if i % 3 else 'view'}\n" for i in range(20000)
        )
        (folder / "events.csv").write_text("id,kind\n" + lines)


def append(root: Path) -> None:
    """New and updated source rows after the first run."""
    con = sqlite3.connect(root / "shop.sqlite")
    con.execute(
        "update orders set amount = amount + 1, updated_at = '2026-02-01 00:00:00' where id % 10 = 0"
    )
    con.executemany(
        "insert into orders values (?, ?, ?, '2026-02-01 00:00:00')",
        ((i, i % 997, "5.00") for i in range(10**6, 10**6 + 5000)),
    )
    con.commit()
    con.close()
    folder = root / "drops" / "day=9"
    folder.mkdir()
    (folder / "events.csv").write_text(
        "id,kind\n" + "".join(f"{900000 + i},buy\n" for i in range(5000))
    )


def headwater(root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "headwater", "run", "-p", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def fingerprints(root: Path) -> dict[str, str]:
    """Content hash of every warehouse table (load metadata excluded) and each cursor."""
    engine = DuckDBEngine(root / ".headwater/warehouse.duckdb", read_only=True)
    con = engine.cursor()
    out = {}
    try:
        for schema, table, kind in engine.tables():
            if schema != "_headwater" and kind == "BASE TABLE":
                out[f"{schema}.{table}"] = engine.fingerprint(schema, table)
        for asset, cursor in con.execute(
            "select asset, state->>'cursor' from _headwater.state"
        ).fetchall():
            out[f"cursor:{asset}"] = cursor
    finally:
        engine.close()
    return out


def load_ids(root: Path) -> list[tuple]:
    con = duckdb.connect(str(root / ".headwater/warehouse.duckdb"), read_only=True)
    try:
        return con.execute(
            "select _hw_load_id, count(*) from raw.shop_orders group by 1 order by 1"
        ).fetchall()
    finally:
        con.close()


def wait_for_run_start(root: Path, proc: subprocess.Popen[bytes]) -> Path | None:
    """Block until the run has begun (its log folder exists) and return that folder, or
    None if the process ended first."""
    logs = root / ".headwater" / "logs"
    before = set(logs.iterdir()) if logs.exists() else set()
    while proc.poll() is None:
        if logs.exists() and (new := set(logs.iterdir()) - before):
            return new.pop()
        time.sleep(0.005)
    return None


def step_times(folder: Path) -> list[float]:
    """The unix times of the step events in a run's ``run.log`` (written in batches)."""
    path = folder / "run.log"
    if not path.exists():
        return []
    return [
        datetime.fromisoformat(line.split(" ", 1)[0]).timestamp()
        for line in path.read_text().splitlines()
        if line
    ]


def run_to_end(root: Path) -> float:
    """Run to completion; return how long its steps took (first start to last finish).

    Timed from the run's own log rather than the process: start-up and the warehouse's
    checkpoint on close are outside the run, and a kill aimed there would not interrupt it.
    """
    proc = headwater(root)
    folder = wait_for_run_start(root, proc)
    assert proc.wait() == 0 and folder is not None
    times = step_times(folder)
    return max(times) - min(times)


def kill_during_run(root: Path, after: float) -> bool:
    """SIGKILL a run ``after`` seconds past its first step's start; return whether the kill
    landed inside the run (the metastore still has it running)."""
    proc = headwater(root)
    folder = wait_for_run_start(root, proc)
    while folder is not None and not (times := step_times(folder)) and proc.poll() is None:
        time.sleep(0.005)
    if folder is not None and times:
        time.sleep(max(0.0, min(times) + after - time.time()))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if folder is None:
        return False
    store = Metastore.open(load_project(root).metastore_url)
    try:
        record = store.get_run(folder.name)
        return record is not None and record.status == "running"
    finally:
        store.close()


def first_phase_killed(root: Path, after: float) -> bool:
    build(root)
    return kill_during_run(root, after)


def incremental_phase_killed(root: Path, after: float) -> bool:
    build(root)
    run_to_end(root)
    append(root)
    return kill_during_run(root, after)


def test_kill_at_any_point_then_rerun_equals_uninterrupted(tmp_path: Path):
    reference = tmp_path / "reference"
    build(reference)
    took = run_to_end(reference)
    first_phase = fingerprints(reference)
    append(reference)
    took_incremental = run_to_end(reference)
    expected = fingerprints(reference)
    assert first_phase != expected  # the appended data changed something

    # idempotent: a rerun with no new source data changes nothing, not even load ids
    ids = load_ids(reference)
    run_to_end(reference)
    assert fingerprints(reference) == expected and load_ids(reference) == ids

    # the kills are timed from the faster of two runs of each phase: one slow reference
    # run (a busy machine) would push every kill past the end of the runs it aims at
    timing = tmp_path / "timing"
    build(timing)
    took = min(took, run_to_end(timing))
    append(timing)
    took_incremental = min(took_incremental, run_to_end(timing))

    phases = [
        ("first", first_phase_killed, took, first_phase),
        ("incremental", incremental_phase_killed, took_incremental, expected),
    ]
    for fraction in (0.1, 0.5, 0.75):
        for phase, killed, duration, after_rerun in phases:
            # a run faster than the timing runs can end before its kill: that kill proves
            # nothing, so it is repeated, on a fresh project, earlier in the run
            for attempt in range(4):
                root = tmp_path / f"{phase}-{fraction}-{attempt}"
                landed = killed(root, duration * fraction / 2**attempt)
                run_to_end(root)
                assert fingerprints(root) == after_rerun, f"{phase} phase, killed at {fraction:.0%}"
                if landed:
                    break
            else:
                raise AssertionError(f"no kill landed inside the {phase} run ({fraction:.0%})")
