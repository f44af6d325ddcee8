"""``headwater export crontab``: one crontab line per scheduled pipeline, in its time zone."""

from __future__ import annotations

from pathlib import Path

from headwater.testing.cli import invoke, write_project

TOML = """
[pipelines.nightly]
select = ["a"]
schedule = "30 2 * * *"
timezone = "Europe/Berlin"

[pipelines.quarter]
every = "15m"
start = 2026-01-01
catchup = "all"

[pipelines.odd]
every = "7m"

[pipelines.by_hand]
select = ["a"]
"""


def test_export_crontab_prints_a_line_per_scheduled_pipeline(tmp_path: Path) -> None:
    root = write_project(tmp_path / "shop", {"headwater.toml": TOML})
    result = invoke("export", "crontab", "-p", str(root))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "CRON_TZ=Europe/Berlin"
    assert lines[1].startswith("30 2 * * * ")
    assert lines[1].endswith(f"run -p {root.resolve()} --pipeline nightly")
    assert lines[2].startswith("# odd: every = '7m' cannot be expressed in a crontab")
    assert lines[3] == "CRON_TZ=UTC"
    assert lines[4].startswith("*/15 * * * * ") and lines[4].endswith("--pipeline quarter")
    assert lines[5] == "# quarter: a crontab ignores start, catchup"
    assert "by_hand" not in result.stdout


def test_export_crontab_without_schedules_says_so(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"headwater.toml": '[pipelines.p]\nselect = ["a"]\n'})
    result = invoke("export", "crontab", "-p", str(root))
    assert result.exit_code == 0
    assert result.stdout.startswith("# no pipeline has a schedule")


def test_export_crontab_refuses_a_bad_schedule_in_one_line(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"headwater.toml": '[pipelines.p]\nschedule = "61 * * * *"\n'})
    result = invoke("export", "crontab", "-p", str(root))
    assert result.exit_code == 2
    assert "headwater.toml:5: pipelines.p.schedule: bad cron expression" in result.stderr
    assert "Traceback" not in result.output
