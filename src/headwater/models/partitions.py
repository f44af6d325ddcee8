"""Partitioned models: which data interval a build covers, and its grain units.

A model with ``partition_by`` and ``grain`` (``hour``, ``day``, ``month``) built with a data
interval ``[start, end)`` replaces only the rows whose ``partition_by`` value falls in it. The
interval must be whole grain units in the run's time zone (the pipeline's ``timezone``, UTC
without one): a day in Europe/Berlin runs from local midnight to local midnight, so the day
of the spring change is 23 hours long. Pure functions (no I/O, no clock).

Contract: :func:`check_partitioning` refuses, in one line naming the model's file, settings
that cannot work (``partition_by`` without ``grain`` or the reverse, a Python model, a view);
:func:`check_aligned` refuses an interval that does not start and end on the grain;
:func:`grain_units` splits an aligned interval into its units, in order, in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from headwater.errors import ProjectError
from headwater.project.asset import Asset

Bounds = tuple[datetime, datetime]
GRAINS = ("hour", "day", "month")


def check_partitioning(asset: Asset) -> tuple[str, str] | None:
    """``(partition_by, grain)`` of a partitioned model, None for any other asset."""
    cfg = asset.model
    if cfg is None or (cfg.partition_by is None and cfg.grain is None):
        return None
    where = f"{asset.location}: model {asset.name}"
    if cfg.partition_by is None or cfg.grain is None:
        raise ProjectError(f"{where}: set both partition_by and grain (hour, day or month)")
    if asset.function is not None:
        raise ProjectError(f"{where}: partition_by is for SQL models (a Python model builds whole)")
    if cfg.materialized != "table":
        raise ProjectError(
            f"{where}: a partitioned model is a table: set materialized: table "
            f"(not {cfg.materialized})"
        )
    return cfg.partition_by, cfg.grain


def floor(instant: datetime, grain: str, tz: tzinfo) -> datetime:
    """The start (UTC) of the grain unit holding ``instant``, in zone ``tz``."""
    local = instant.astimezone(tz)
    if grain == "hour":
        # an hour of UTC offset arithmetic: whole hours of the instant, in its own offset
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    wall = local.replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    if grain == "month":
        wall = wall.replace(day=1)
    return wall.replace(tzinfo=tz).astimezone(UTC)


def _next(start: datetime, grain: str, tz: tzinfo) -> datetime:
    """The start (UTC) of the unit after the one starting at ``start``."""
    if grain == "hour":
        return start + timedelta(hours=1)
    wall = start.astimezone(tz).replace(tzinfo=None)
    if grain == "day":
        wall += timedelta(days=1)
    else:
        wall = wall.replace(year=wall.year + wall.month // 12, month=wall.month % 12 + 1)
    return wall.replace(tzinfo=tz).astimezone(UTC)


def grain_units(start: datetime, end: datetime, grain: str, tz: tzinfo) -> Iterator[Bounds]:
    """The grain units ``[s, e)`` from the one holding ``start`` to the one holding the
    instant before ``end``, in order, in UTC.

    >>> tz = ZoneInfo("Europe/Berlin")
    >>> day = datetime(2026, 3, 28, 23, tzinfo=UTC)  # midnight in Berlin, the spring change
    >>> [(e - s).total_seconds() / 3600 for s, e in grain_units(day, day + timedelta(hours=47), "day", tz)]
    [23.0, 24.0]
    >>> len(list(grain_units(day, day + timedelta(hours=48), "day", tz)))  # into a third day
    3
    """
    unit = floor(start, grain, tz)
    while unit < end:
        following = _next(unit, grain, tz)
        yield unit, following
        unit = following


def check_aligned(asset: Asset, interval: Bounds, grain: str, tz: tzinfo) -> None:
    """Refuse an interval that does not start and end on a ``grain`` boundary in ``tz``."""
    start, end = interval
    for name, at in (("start", start), ("end", end)):
        if floor(at, grain, tz) != at.astimezone(UTC):
            raise ProjectError(
                f"{asset.location}: model {asset.name}: the interval's {name} "
                f"{at.astimezone(tz).isoformat()} is not on a {grain} boundary in {tz} "
                f"(its grain): use whole {grain}s"
            )
    if not start < end:
        raise ProjectError(f"{asset.name}: empty interval [{start}, {end})")


def zone_of(name: str | None) -> tzinfo:
    """The IANA zone ``name``; UTC for None."""
    return ZoneInfo(name) if name else UTC
