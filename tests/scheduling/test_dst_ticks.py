"""The server's scheduler through both Europe/Berlin daylight-saving changes of 2026, with a
fixed clock: :meth:`Scheduler.tick_once` called every 15 minutes over three days around
each change, on a real project and metastore; each run it queues ends at once. The ledger
holds each interval once, contiguous, the skipped and the repeated hour as documented
(docs/project-format.md, "Schedules"): a skipped hour runs once, a repeated hour once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from headwater.config.schedule import zone
from headwater.metastore import IntervalRecord, Metastore
from headwater.project import load_project
from headwater.server.runs import RunRequest
from headwater.server.scheduler import Scheduler
from headwater.testing.cli import write_project

ZONE = zone("Europe/Berlin")
TOML = """
[pipelines.hourly]
select = ["marts.fast"]
schedule = "0 * * * *"
timezone = "Europe/Berlin"
start = {start}
catchup = "all"

[pipelines.daily]
select = ["marts.fast"]
schedule = "30 2 * * *"
timezone = "Europe/Berlin"
start = {start}
catchup = "all"
"""


@dataclass
class InstantRuns:
    """A run queue whose runs succeed as soon as they are queued (the ledger is the subject)."""

    queued: list[tuple[str, datetime]] = field(default_factory=list)

    def submit(self, request: RunRequest, run_id: str | None = None) -> str:
        assert request.pipeline is not None and request.interval is not None and run_id
        assert request.trigger == "schedule"
        self.queued.append((request.pipeline, request.interval.start))
        assert request.on_done is not None
        request.on_done(run_id, "success")
        return run_id


def _ticked(tmp_path: Path, start: str, first: datetime) -> dict[str, list[IntervalRecord]]:
    root = write_project(
        tmp_path / "proj",
        {"headwater.toml": TOML.format(start=start), "models/marts/fast.sql": "select 1\n"},
    )
    project = load_project(root)
    runs = InstantRuns()
    scheduler = Scheduler(project, runs)  # type: ignore[arg-type]
    for k in range(3 * 24 * 4 + 1):  # every 15 minutes for three days
        scheduler.tick_once(first + timedelta(minutes=15 * k))
    with Metastore.open(project.metastore_url) as store:
        ledgers = {name: store.intervals(name) for name in ("hourly", "daily")}
    for name, ledger in ledgers.items():
        assert [(name, i.interval_start) for i in ledger] == [
            q for q in runs.queued if q[0] == name
        ]
        assert {i.status for i in ledger} == {"success"}
        assert [i.interval_end for i in ledger[:-1]] == [i.interval_start for i in ledger[1:]]
    return ledgers


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _spans(ledger: list[IntervalRecord]) -> list[tuple[datetime, datetime]]:
    return [(i.interval_start, i.interval_end) for i in ledger]


@pytest.mark.parametrize("season", ["spring", "autumn"])
def test_the_scheduler_ticks_through_a_berlin_change_once_per_interval(
    tmp_path: Path, season: str
) -> None:
    if season == "spring":  # 29 March 2026: 02:00 CET -> 03:00 CEST
        ledgers = _ticked(tmp_path, "2026-03-28", datetime(2026, 3, 28, 0, tzinfo=UTC))
        skipped = (_local("2026-03-29T01:00:00+01:00"), _local("2026-03-29T03:00:00+02:00"))
        assert skipped in _spans(ledgers["hourly"])  # 02:00 never exists: one real hour
        hours = {i.interval_end - i.interval_start for i in ledgers["hourly"]}
        assert hours == {timedelta(hours=1)}
        day = (_local("2026-03-28T02:30:00+01:00"), _local("2026-03-29T03:30:00+02:00"))
    else:  # 25 October 2026: 03:00 CEST -> 02:00 CET
        ledgers = _ticked(tmp_path, "2026-10-24", datetime(2026, 10, 24, 0, tzinfo=UTC))
        repeated = (_local("2026-10-25T02:00:00+02:00"), _local("2026-10-25T03:00:00+01:00"))
        assert repeated in _spans(ledgers["hourly"])  # 02:00-03:00 twice: one interval
        long = [
            i for i in ledgers["hourly"] if i.interval_end - i.interval_start > timedelta(hours=1)
        ]
        assert _spans(long) == [repeated]
        day = (_local("2026-10-25T02:30:00+02:00"), _local("2026-10-26T02:30:00+01:00"))
    assert day in _spans(ledgers["daily"])  # the change's day fires once
    local_days = [i.interval_start.astimezone(ZONE).date() for i in ledgers["daily"]]
    assert len(local_days) == len(set(local_days)) >= 1
    assert len(ledgers["hourly"]) >= 60  # the ticks covered the whole three days
