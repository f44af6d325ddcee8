"""The few time zones the demo regions use, with their daylight-saving rules written out.

The generator needs exact, reproducible local<->UTC conversions that do not depend on the
tz database installed on the machine, so the rules are spelled out here (valid for the years
the demo covers, which is all that matters):

- ``Europe/Paris``: UTC+1, daylight time UTC+2 from the last Sunday of March 01:00 UTC to the
  last Sunday of October 01:00 UTC.
- ``America/New_York``: UTC-5, daylight time UTC-4 from the second Sunday of March 07:00 UTC
  (02:00 local) to the first Sunday of November 06:00 UTC (02:00 local daylight time).
- ``Asia/Tokyo``: UTC+9, ``Africa/Johannesburg``: UTC+2, ``UTC``: no daylight time.

All datetimes here are *naive*: a UTC instant or a local wall-clock time, by convention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

__all__ = [
    "ZONES",
    "Zone",
    "epoch_ms",
    "epoch_seconds",
    "from_local",
    "is_ambiguous",
    "offset_at",
    "to_local",
]


def _last_sunday(year: int, month: int) -> date:
    d = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return d - timedelta(days=(d.weekday() + 1) % 7)


def _nth_sunday(year: int, month: int, n: int) -> date:
    d = date(year, month, 1)
    d += timedelta(days=(6 - d.weekday()) % 7)
    return d + timedelta(weeks=n - 1)


@lru_cache(maxsize=64)
def _eu_dst(year: int) -> tuple[datetime, datetime]:
    start = datetime.combine(_last_sunday(year, 3), datetime.min.time()) + timedelta(hours=1)
    end = datetime.combine(_last_sunday(year, 10), datetime.min.time()) + timedelta(hours=1)
    return start, end


@lru_cache(maxsize=64)
def _us_dst(year: int) -> tuple[datetime, datetime]:
    start = datetime.combine(_nth_sunday(year, 3, 2), datetime.min.time()) + timedelta(hours=7)
    end = datetime.combine(_nth_sunday(year, 11, 1), datetime.min.time()) + timedelta(hours=6)
    return start, end


@dataclass(frozen=True)
class Zone:
    """A time zone: its standard offset and, optionally, a daylight-saving rule (+1 hour)."""

    name: str
    standard: timedelta
    dst: str = ""  # "eu", "us" or "" (none)


ZONES: dict[str, Zone] = {
    "Europe/Paris": Zone("Europe/Paris", timedelta(hours=1), "eu"),
    "America/New_York": Zone("America/New_York", timedelta(hours=-5), "us"),
    "Asia/Tokyo": Zone("Asia/Tokyo", timedelta(hours=9)),
    "Africa/Johannesburg": Zone("Africa/Johannesburg", timedelta(hours=2)),
    "UTC": Zone("UTC", timedelta(0)),
}


def offset_at(zone: Zone, utc: datetime) -> timedelta:
    """The zone's UTC offset at the UTC instant ``utc``."""
    if not zone.dst:
        return zone.standard
    start, end = _eu_dst(utc.year) if zone.dst == "eu" else _us_dst(utc.year)
    return zone.standard + timedelta(hours=1) if start <= utc < end else zone.standard


def to_local(zone: Zone, utc: datetime) -> datetime:
    """The local wall-clock time of the UTC instant ``utc``."""
    return utc + offset_at(zone, utc)


def from_local(zone: Zone, local: datetime) -> datetime | None:
    """The UTC instant of a local wall-clock time, or None when the local time is ambiguous
    (it happens twice, when clocks go back) or does not exist (when clocks go forward)."""
    if not zone.dst:
        return local - zone.standard
    candidates = {
        local - off
        for off in (zone.standard, zone.standard + timedelta(hours=1))
        if to_local(zone, local - off) == local
    }
    return candidates.pop() if len(candidates) == 1 else None


def is_ambiguous(zone: Zone, utc: datetime) -> bool:
    """Whether the local time of ``utc`` happens twice (the hour repeated when clocks go
    back), so that a naive local time could not tell which instant it is."""
    if not zone.dst:
        return False
    end = (_eu_dst if zone.dst == "eu" else _us_dst)(utc.year)[1]
    return end - timedelta(hours=1) <= utc < end + timedelta(hours=1)


def epoch_seconds(utc: datetime) -> int:
    """Seconds since 1970-01-01 UTC of a naive UTC datetime."""
    return int(utc.replace(tzinfo=UTC).timestamp())


def epoch_ms(utc: datetime) -> int:
    """Milliseconds since 1970-01-01 UTC of a naive UTC datetime."""
    return epoch_seconds(utc) * 1000 + utc.microsecond // 1000
