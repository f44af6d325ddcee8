"""The server's housekeeping with a fixed clock: missed deadlines post deadline_missed to a
real local webhook once; history_days prunes old runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alert_hooks import webhook

from headwater.alerts import flush
from headwater.config.schedule import zone
from headwater.config.settings import load_settings
from headwater.errors import ConfigError
from headwater.metastore import Metastore
from headwater.metastore import tables as t
from headwater.project import load_project
from headwater.server.housekeeping import Housekeeper
from headwater.testing.cli import write_project

BERLIN = zone("Europe/Berlin")
PIPE = """
[pipelines.daily]
select = ["s.base"]
schedule = "0 0 * * *"
timezone = "Europe/Berlin"
start = "2026-03-01"
deadline = "07:00"
"""


def _berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)  # type: ignore[misc]


def test_a_missed_deadline_alerts_once_and_a_met_one_never(project_dir) -> None:
    with webhook() as hook:
        toml = PIPE + f'[alerts.ops]\nwebhook = "{hook.url}"\non = ["deadline_missed"]\n'
        project = load_project(
            project_dir({"headwater.toml": toml, "models/s/base.sql": "select 1"})
        )
        with Metastore.open(project.metastore_url) as store:
            for day, status in ((8, "success"), (9, "failed")):
                start = _berlin(2026, 3, day)
                store.enqueue_intervals("daily", [(start, _berlin(2026, 3, day + 1))])
                assert store.claim_interval("daily", start, f"run-{day}")
                assert store.finish_interval("daily", start, status)
        keeper = Housekeeper(project, now=_berlin(2026, 3, 10, 6))  # looks back a day
        assert keeper.check_deadlines(_berlin(2026, 3, 10, 6, 59)) == 0  # not yet due
        assert keeper.check_deadlines(_berlin(2026, 3, 10, 7, 0, 1)) == 1
        assert keeper.check_deadlines(_berlin(2026, 3, 10, 7, 0, 2)) == 0  # once
        assert keeper.check_deadlines(_berlin(2026, 3, 11, 7)) == 1  # never enqueued
        assert flush(10)
    first, second = hook.delivered
    assert first["event"] == "deadline_missed" and first["pipeline"] == "daily"
    assert (first["status"], first["run_id"]) == ("failed", "run-9")
    assert first["interval"] == {
        "start": _berlin(2026, 3, 9).isoformat(),
        "end": _berlin(2026, 3, 10).isoformat(),
    }
    assert first["deadline"] == _berlin(2026, 3, 10, 7).isoformat()
    assert (second["status"], second["run_id"]) == ("missing", None)


def test_history_days_prunes_old_runs_once_a_day(project_dir) -> None:
    toml = "[project]\nname = 'p'\nhistory_days = 90\n"
    project = load_project(project_dir({"headwater.toml": toml, "models/s/base.sql": "select 1"}))
    now = datetime.now(UTC)
    with Metastore.open(project.metastore_url) as store:
        for run_id, days in (("old", 100), ("new", 10)):
            store.start_run(run_id, project="p", selection=None)
            store.finish_run(run_id, "success")
            with store.engine.begin() as conn:
                conn.execute(
                    t.runs.update()
                    .where(t.runs.c.run_id == run_id)
                    .values(started_at=now - timedelta(days=days))
                )
    keeper = Housekeeper(project)
    keeper.prune_if_due(now)
    with Metastore.open(project.metastore_url) as store:
        assert [r.run_id for r in store.runs()] == ["new"]
    assert keeper.pruned_at == now
    keeper.prune_if_due(now + timedelta(hours=23))  # not again within a day
    assert keeper.pruned_at == now


@pytest.mark.parametrize(
    ("toml", "line", "message"),
    [
        (
            '[alerts.ops]\nwebhook = "http://x"\ncommand = "true"\n',
            4,
            "alerts.ops: Value error, set either webhook or command",
        ),
        (
            '[alerts.ops]\ncommand = "true"\non = ["run_done"]\n',
            6,
            "alerts.ops.on.0: Input should be",
        ),
        (
            '[pipelines.p]\nselect = ["a"]\nevery = "1h"\ndeadline = "7am"\n',
            7,
            "pipelines.p.deadline: String should match",
        ),
        (
            '[pipelines.p]\nselect = ["a"]\ndeadline = "07:00"\n',
            6,
            "pipelines.p.deadline: only read for a scheduled pipeline",
        ),
    ],
)
def test_bad_alert_and_deadline_settings_are_one_located_line(
    tmp_path, toml: str, line: int, message: str
) -> None:
    root = write_project(tmp_path, {"headwater.toml": toml})
    with pytest.raises(ConfigError) as err:
        load_settings(root / "headwater.toml")
    text = str(err.value)
    assert text.startswith(f"{root / 'headwater.toml'}:{line}: {message}"), text
    assert len(text.splitlines()) == 1
