"""The schedule keys of ``[pipelines.NAME]``, checked: cron expression, duration, time zone,
start and end.

Contract: :func:`check_pipeline_schedule` raises one located :class:`ConfigError` line
(``file:line: pipelines.NAME.KEY: what is wrong``) for a bad cron expression, an unknown time
zone, a bad duration, both ``schedule`` and ``every``, ``start`` after ``end``, or a schedule
key on a pipeline that has no schedule (it would do nothing). The parsers
(:func:`parse_every`, :func:`as_instant`) are what :mod:`headwater.scheduling` uses too, so a
value accepted here means the same thing there.

croniter is imported only when a pipeline has a ``schedule`` (loading a project stays fast).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from headwater.config.textfile import locate_key
from headwater.errors import ConfigError

if TYPE_CHECKING:
    from headwater.config.settings import PipelineSettings

When = date | datetime | str

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+)\s*([smhd])")
# keys that only mean something on a scheduled pipeline
_SCHEDULE_ONLY = ("timezone", "start", "end", "catchup", "max_active_runs", "deadline")


def parse_every(text: str) -> timedelta:
    """``"15m"``, ``"1h"``, ``"1h30m"``, ``"90s"``, ``"1d"`` as a positive timedelta.

    >>> parse_every("1h30m")
    datetime.timedelta(seconds=5400)
    >>> parse_every("0m")
    Traceback (most recent call last):
    ...
    ValueError: bad duration '0m': expected a positive number of s, m, h or d such as "15m" or "1h30m"
    """
    compact = text.strip().lower().replace(" ", "")
    parts = _PART.findall(compact)
    total = sum(int(n) * _UNITS[unit] for n, unit in parts)
    if not compact or "".join(n + u for n, u in parts) != compact or total <= 0:
        raise ValueError(
            f"bad duration {text!r}: expected a positive number of s, m, h or d "
            'such as "15m" or "1h30m"'
        )
    return timedelta(seconds=total)


def zone(name: str) -> tzinfo:
    """The IANA time zone ``name`` (``ValueError`` naming it when unknown).

    >>> zone("Europe/Berlin").key
    'Europe/Berlin'
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f'unknown time zone {name!r} (an IANA name such as "Europe/Berlin")'
        ) from None


def as_instant(value: When, tz: tzinfo) -> datetime:
    """A ``start``/``end`` value as an aware UTC datetime. A date means its midnight, and a
    datetime without an offset its wall time, in ``tz``; a string is ISO 8601.

    >>> as_instant("2026-03-29", zone("Europe/Berlin")).isoformat()
    '2026-03-28T23:00:00+00:00'
    >>> as_instant("2026-03-29T06:00:00+02:00", zone("UTC")).isoformat()
    '2026-03-29T04:00:00+00:00'
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"bad date or time {value!r}: expected ISO 8601 such as 2026-01-01 "
                "or 2026-01-01T06:00:00"
            ) from None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def check_cron(expression: str) -> None:
    """Raise ``ValueError`` when ``expression`` is no 5-field cron expression croniter reads."""
    from croniter import croniter

    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise ValueError(
            f"bad cron expression {expression!r}: expected 5 fields "
            '(minute hour day month weekday) such as "0 6 * * *"'
        )


def check_pipeline_schedule(name: str, pipe: PipelineSettings, path: Path, text: str) -> None:
    """Refuse, in one located line, a schedule key of pipeline ``name`` that is wrong."""

    def fail(key: str, message: str) -> ConfigError:
        line = locate_key(text, ("pipelines", name, key))
        return ConfigError(f"{path}:{line}: pipelines.{name}.{key}: {message}")

    if pipe.schedule is not None and pipe.every is not None:
        raise fail("every", "set either schedule or every, not both")
    if pipe.schedule is None and pipe.every is None:
        for key in _SCHEDULE_ONLY:
            if key == "max_active_runs" and pipe.triggered:  # its triggered runs at once
                continue
            if key in pipe.model_fields_set:
                raise fail(key, "only read for a scheduled pipeline: set schedule or every")
        return
    checks: list[tuple[str, Callable[[], object]]] = [("timezone", lambda: zone(pipe.timezone))]
    if pipe.schedule is not None:
        checks.append(("schedule", lambda: check_cron(pipe.schedule or "")))
    if pipe.every is not None:
        checks.append(("every", lambda: parse_every(pipe.every or "")))
    for key, check in checks:
        try:
            check()
        except ValueError as exc:
            raise fail(key, str(exc)) from None
    tz = zone(pipe.timezone)
    bounds: dict[str, datetime] = {}
    for key, value in (("start", pipe.start), ("end", pipe.end)):
        if value is None:
            continue
        try:
            bounds[key] = as_instant(value, tz)
        except ValueError as exc:
            raise fail(key, str(exc)) from None
    if len(bounds) == 2 and bounds["start"] >= bounds["end"]:
        raise fail("end", f"end ({pipe.end}) must be after start ({pipe.start})")
