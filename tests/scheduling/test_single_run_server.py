"""`headwater backfill --single-run` with a live server: the one run is queued and run by
the server's process (api.backfill plans it there), its end finishes every interval of
the range, and a refusal is the same one line, exit 2. Real processes on 127.0.0.1."""

from __future__ import annotations

import signal
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from test_single_run import FIRST, RANGE, _project, _store, _table

sys.path.insert(0, str(Path(__file__).parent.parent / "server"))
from server_process import Server, cli


def test_single_run_through_a_live_server(tmp_path: Path) -> None:
    root = _project(tmp_path / "shop")
    incremental = "-- headwater:\n--   materialized: incremental\n--   unique_key: [id]\n"
    refused_root = _project(
        tmp_path / "refused",
        {"models/marts/all_orders.sql": incremental + "select id, amount from orders\n"},
    )
    server = Server(root)
    refusing = Server(refused_root)
    try:
        done = cli(root, "backfill", "daily", *RANGE, "--single-run")
        refused = cli(refused_root, "backfill", "daily", *RANGE, "--single-run")
        pid = server.info["pid"]
    finally:
        assert server.stop(signal.SIGTERM) == 0
        assert refusing.stop(signal.SIGTERM) == 0
    assert done.returncode == 0, done.stderr
    assert "in one run" in done.stdout and "the server's queue" in done.stdout
    with _store(root) as store:
        runs = [r for r in store.runs(100) if r.trigger == "backfill"]
        ledger = _in_range(store.intervals("daily"))
    assert len(runs) == 1 and (runs[0].status, runs[0].pid) == ("success", pid)
    assert len(ledger) == 5
    assert {(r.status, r.run_id) for r in ledger} == {("success", runs[0].run_id)}
    assert [r[0] for r in _table(root)][:5] == [FIRST + timedelta(days=d) for d in range(5)]
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.count("\n") == 1 and "incremental without partition_by" in refused.stderr
    with _store(refused_root) as store:
        assert _in_range(store.intervals("daily")) == []


def _in_range(ledger: list[Any]) -> list[Any]:
    """The intervals of the backfill's range (a server's clock adds its latest one)."""
    first = datetime.combine(FIRST, time(), ZoneInfo("Europe/Berlin"))
    return [r for r in ledger if first <= r.interval_start < first + timedelta(days=5)]
