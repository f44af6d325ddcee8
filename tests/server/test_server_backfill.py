"""`headwater backfill` with a live server: the intervals go to the server's queue (the
ledger its scheduler claims from), the server's process runs them with their data interval,
and the command follows them to the end."""

from __future__ import annotations

import signal
from pathlib import Path

from server_process import Server, metastore

from headwater.testing.cli import invoke, write_project

MODEL = """-- headwater:
--   materialized: table
--   partition_by: d
--   grain: day
select d::date as d, count(*) as n from range(date '2026-01-01', date '2026-02-01', interval 1 day) t(d)
where d >= getvariable('interval_start') and d < getvariable('interval_end') group by all
"""


def test_backfill_through_a_live_server_runs_in_the_servers_queue(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "proj",
        {
            "headwater.toml": (
                '[pipelines.daily]\nselect = ["marts.days"]\nschedule = "0 0 * * *"\n'
                'start = "2026-01-01"\nend = "2026-02-01"\ncatchup = "none"\n'
            ),
            "models/marts/days.sql": MODEL,
        },
    )
    server = Server(root)
    try:
        done = invoke(
            "backfill", "daily", "--start", "2026-01-03", "--end", "2026-01-06",
            "--max-parallel", "2", "-p", str(root),
        )  # fmt: skip
        pid = server.info["pid"]
        with server.client() as http:
            rows = http.post(
                "/api/query", json={"sql": "select d::varchar from marts.days order by 1"}
            )
    finally:
        assert server.stop(signal.SIGTERM) == 0
    assert done.exit_code == 0, done.output
    assert "in the server's queue" in done.stdout
    assert "one interval at a time" in done.stdout
    assert done.stdout.count(" success ") == 3
    assert [r[0] for r in rows.json()["rows"]] == ["2026-01-03", "2026-01-04", "2026-01-05"]
    with metastore(root) as store:
        runs = [r for r in store.runs(100) if r.params.get("interval_start", "") < "2026-01-06"]
    assert len(runs) == 3 and {r.pid for r in runs} == {pid}  # run by the server's process
