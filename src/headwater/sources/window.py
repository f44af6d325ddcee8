"""The cursor window of an incremental read: lag (lookback) arithmetic on cursor values.

>>> minus_lag("2026-01-02 10:00:00", "2 hours")
'2026-01-02 08:00:00'
>>> minus_lag("2026-01-02T10:00:00+01:00", "1 day")
'2026-01-01T10:00:00+01:00'
>>> minus_lag("2026-01-02", "1 day")
'2026-01-01'
>>> minus_lag("1500", "100")
'1400'
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from headwater.errors import ConfigError

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
_LAG = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+?)s?\s*$")


def parse_duration(text: str) -> timedelta:
    """``"2 hours"``, ``"1 day"``, ``"30 minutes"`` as a timedelta."""
    match = _LAG.match(text.lower())
    if not match or match.group(2) not in _UNITS:
        raise ConfigError(
            f"lag {text!r}: expected a number or '<n> seconds|minutes|hours|days|weeks'"
        )
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def minus_lag(value: str, lag: str) -> str:
    """``value`` moved back by ``lag``, in the same textual form as ``value``."""
    if re.fullmatch(r"-?\d+", lag.strip()) and re.fullmatch(r"-?\d+", value.strip()):
        return str(int(value) - int(lag))
    delta = parse_duration(lag)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return (date.fromisoformat(value) - delta).isoformat()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"lag {lag!r} cannot be applied to cursor value {value!r}") from None
    sep = "T" if "T" in value else " "
    return (moment - delta).isoformat(sep=sep)
