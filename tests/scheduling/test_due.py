"""What a scheduler tick enqueues: table-driven cases in cases/*.toml.

Each case holds a pipeline's settings as a user writes them in ``[pipelines.NAME]``, a fixed
clock (``now``; ``since``: when the scheduler started), the ledger (``enqueued`` interval
starts, ``active`` queued or running) and the intervals expected, as instants with offsets.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater.config.schedule import zone
from headwater.config.settings import PipelineSettings
from headwater.scheduling import Interval, Schedule, due, intervals, next_end, schedule_of

CASES = sorted((Path(__file__).parent / "cases").glob("*.toml"))


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, f"{text}: give an offset"
    return value.astimezone(UTC)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    case: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    schedule = schedule_of(PipelineSettings(**case["pipeline"]))
    assert schedule is not None
    given = case["given"]
    got = due(
        schedule,
        _instant(given["now"]),
        enqueued={_instant(s) for s in given.get("enqueued", [])},
        active=given.get("active", 0),
        since=_instant(given["since"]) if "since" in given else None,
    )
    expected = [Interval(_instant(i["start"]), _instant(i["end"])) for i in case["expected"]]
    assert got == expected, case["description"]
    assert all(i.start.tzinfo == UTC and i.end.tzinfo == UTC for i in got)


def test_the_cases_cover_daylight_saving_and_each_catchup() -> None:
    names = {p.stem for p in CASES}
    assert {"berlin_spring_daily_0230", "berlin_autumn_daily_0230"} <= names
    modes = {tomllib.loads(p.read_text())["pipeline"].get("catchup") for p in CASES}
    assert {"all", "latest", "none"} <= modes


def test_a_year_of_berlin_days_is_contiguous_and_fires_once_a_day() -> None:
    """Every local day of 2026 has exactly one fire time of a 02:30 schedule, DST days too,
    and the intervals neither overlap nor leave gaps."""
    berlin = zone("Europe/Berlin")
    s = Schedule(cron="30 2 * * *", every=None, tz=berlin, start=datetime(2026, 1, 1, tzinfo=UTC))
    year = [i for i, _ in zip(intervals(s), range(365), strict=False)]
    assert [a.end for a in year[:-1]] == [b.start for b in year[1:]]
    days = [i.start.astimezone(berlin).date() for i in year]
    assert len(set(days)) == 365 and days[0].isoformat() == "2026-01-01"
    lengths = {i.end - i.start for i in year}
    assert lengths == {timedelta(hours=23), timedelta(hours=24), timedelta(hours=25)}


def test_every_steps_in_elapsed_time_across_daylight_saving() -> None:
    s = schedule_of(
        PipelineSettings(every="1h", timezone="Europe/Berlin", start="2026-10-25T00:00:00")
    )
    assert s is not None
    steps = [i for i, _ in zip(intervals(s), range(5), strict=False)]
    assert {i.end - i.start for i in steps} == {timedelta(hours=1)}  # 5 real hours: no merging


def test_next_end_tells_the_loop_when_to_wake() -> None:
    s = schedule_of(PipelineSettings(schedule="0 6 * * *", timezone="Europe/Berlin"))
    assert s is not None
    now = datetime(2026, 3, 28, 12, tzinfo=UTC)
    assert next_end(s, now) == datetime(2026, 3, 29, 4, tzinfo=UTC)  # 06:00 CEST
    ended = schedule_of(PipelineSettings(every="1h", start="2026-01-01", end="2026-01-02"))
    assert ended is not None and next_end(ended, now) is None


def test_a_tick_after_enqueueing_finds_nothing_new() -> None:
    """Feeding the ledger back: each interval is due once, and catch-up ends in order."""
    s = schedule_of(
        PipelineSettings(
            schedule="*/10 * * * *", start="2026-05-01T00:00:00", catchup="all", max_active_runs=4
        )
    )
    assert s is not None
    now, ledger, seen = datetime(2026, 5, 1, 1, 5, tzinfo=UTC), set(), []
    for _ in range(5):  # five ticks; every run finishes before the next one (active 0)
        new = due(s, now, enqueued=ledger)
        seen += new
        ledger |= {i.start for i in new}
    assert [i.start.minute for i in seen] == [0, 10, 20, 30, 40, 50]
    assert due(s, now, enqueued=ledger) == []
