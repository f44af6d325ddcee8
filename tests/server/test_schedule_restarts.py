"""A pipeline scheduled every second, its server killed (SIGKILL) at 10 random instants and
restarted (the issue's test): the ledger holds each of the schedule's 10 intervals once, each
is built by exactly one successful run, and the warehouse equals the one an uninterrupted
server of the same project built over the same schedule, side by side.

Each interval loads its own rows: a SQLite source bounded by the interval
(``interval_column``, ``write = "merge"``), so the warehouse tells which intervals were loaded
and a lost interval or one loaded twice by another schedule would show."""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from server_process import Server, metastore, wait_for

from headwater.testing.cli import write_project

INTERVALS = 10
KILLS = 10


def _settled(root: Path) -> bool:
    with metastore(root) as store:
        found = store.intervals("tick")
    return len(found) == INTERVALS and all(i.status == "success" for i in found)


def _project(root: Path, start: datetime) -> Path:
    """Source rows at each half second from 3 s before ``start`` to 3 s after the end."""
    end = start + timedelta(seconds=INTERVALS)
    write_project(
        root,
        {
            "headwater.toml": (
                '[connections.shop]\nurl = "sqlite:///shop.sqlite"\n'
                '[sources.shop]\nconnection = "shop"\ntables = ["events"]\n'
                'primary_key = ["id"]\nwrite = "merge"\ninterval_column = "at"\n'
                "[pipelines.tick]\n"
                'select = ["raw.shop_events"]\n'
                'every = "1s"\n'
                'catchup = "all"\n'
                f'start = "{start.isoformat()}"\n'
                f'end = "{end.isoformat()}"\n'
            ),
        },
    )
    with sqlite3.connect(root / "shop.sqlite") as con:
        con.execute("create table events (id integer primary key, at text)")
        stamps = (start + timedelta(seconds=k / 2) for k in range(-6, 2 * INTERVALS + 6))
        con.executemany(
            "insert into events values (?, ?)",
            ((k, at.strftime("%Y-%m-%d %H:%M:%S")) for k, at in enumerate(stamps)),
        )
    return root


def _warehouse(root: Path) -> list[tuple[Any, ...]]:
    path = root / ".headwater" / "warehouse.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute('select id, "at" from raw.shop_events order by id').fetchall()


@pytest.mark.slow
def test_scheduled_intervals_run_exactly_once_across_kills(tmp_path: Path) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    root = _project(tmp_path / "killed", start)
    calm = Server(_project(tmp_path / "calm", start))  # the uninterrupted one, same schedule
    chance = random.Random()
    server = Server(root)
    try:
        for _ in range(KILLS):  # killed at a random instant while intervals come due and run
            time.sleep(chance.uniform(0.0, 1.5))
            assert server.stop(signal.SIGKILL) == -signal.SIGKILL
            server = Server(root)  # the stale server.json does not stop it
        wait_for(lambda: _settled(root), timeout=180, every=0.2)
        wait_for(lambda: _settled(calm.root), timeout=90, every=0.2)
    finally:
        for srv in (server, calm):
            if srv.proc.poll() is None:
                assert srv.stop(signal.SIGTERM) == 0
    with metastore(root) as store:
        ledger = store.intervals("tick")
        runs = [r for r in store.runs(1000) if r.trigger == "schedule"]
    expected = [start + timedelta(seconds=i) for i in range(INTERVALS)]
    assert [i.interval_start for i in ledger] == expected  # each interval once, in order
    built = Counter(r.params.get("interval_start") for r in runs if r.status == "success")
    assert built == Counter({s.isoformat(): 1 for s in expected})  # each built exactly once
    # the other runs are the ones a SIGKILL cut short (abandoned), none still open
    assert {r.status for r in runs} <= {"success", "abandoned"}
    assert all(i.run_id in {r.run_id for r in runs if r.status == "success"} for i in ledger)
    loaded = _warehouse(root)
    assert loaded == _warehouse(calm.root)  # as if it had never been killed
    # the schedule's rows and no others: the two of each second of [start, end)
    assert [row_id for row_id, _ in loaded] == list(range(6, 6 + 2 * INTERVALS))
