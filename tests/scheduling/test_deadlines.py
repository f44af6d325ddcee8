"""Deadlines of scheduled intervals with a fixed clock (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from headwater.config.schedule import zone
from headwater.scheduling import Schedule
from headwater.scheduling.deadlines import deadline_of, deadlines_between

BERLIN = zone("Europe/Berlin")
DAILY = Schedule(cron="0 0 * * *", every=None, tz=BERLIN)


def _berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)  # type: ignore[misc]


def test_the_deadline_is_the_first_wall_time_at_or_after_the_intervals_end() -> None:
    assert deadline_of(DAILY, time(7), _berlin(2026, 3, 10)) == _berlin(2026, 3, 10, 7)
    six = Schedule(cron="0 6 * * *", every=None, tz=BERLIN)
    assert deadline_of(six, time(7), _berlin(2026, 3, 10, 6)) == _berlin(2026, 3, 10, 7)
    # an interval ending after 07:00 is due at 07:00 the next day
    assert deadline_of(six, time(7), _berlin(2026, 3, 10, 8)) == _berlin(2026, 3, 11, 7)
    assert deadline_of(six, time(7), _berlin(2026, 3, 10, 7)) == _berlin(2026, 3, 10, 7)


def test_a_deadline_skipped_by_spring_forward_falls_after_the_change() -> None:
    # 2026-03-29 02:30 does not exist in Berlin: it falls at 03:30 CEST (01:30 UTC)
    end = _berlin(2026, 3, 29)
    assert deadline_of(DAILY, time(2, 30), end) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_deadlines_between_names_each_interval_once_across_ticks() -> None:
    start = _berlin(2026, 3, 1)
    now = _berlin(2026, 3, 10, 7, 0, 30)
    found = list(deadlines_between(DAILY, time(7), start, now))
    # the interval ending at the window's start is due at 07:00 that day: inside it
    expected = [_berlin(2026, 2, 28)] + [_berlin(2026, 3, d) for d in range(1, 10)]
    assert [i.start for i, _ in found] == expected
    assert all(d == i.end + timedelta(hours=7) for i, d in found)
    # a tick later: nothing new; the next day's tick: only the next interval
    assert list(deadlines_between(DAILY, time(7), now, now + timedelta(seconds=1))) == []
    later = list(deadlines_between(DAILY, time(7), now, _berlin(2026, 3, 11, 7)))
    assert [i.start for i, _ in later] == [_berlin(2026, 3, 10)]
