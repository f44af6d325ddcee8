"""Sources bounded by the run's data interval: the bound parameters of a bounded read.

A database source table with ``interval_column`` reads, in a run that has a data interval
``[start, end)`` (scheduled, backfilled, ``headwater run --interval-start/--interval-end``),
only its rows with ``start <= interval_column < end``; a run without an interval reads as
the source always does. A custom ``query`` reads the interval itself through the named
parameters ``:interval_start`` and ``:interval_end``. Either way the values are **bound
parameters** of the database's driver, never text put into the SQL.

What each database compares (see docs/project-format.md, "Sources bounded by the interval"):

- SQLite: ``datetime(column) >= datetime(:interval_start)``: the bounds are SQLite's own
  datetime text in UTC (``2026-03-01 00:00:00``), and ``datetime()`` reads a column's dates,
  ISO times (``T``, an offset, fractions) alike. Without an interval a query's parameters are
  ``0000-01-01 00:00:00`` and ``9999-12-31 23:59:59``: it reads every row.
- PostgreSQL: ``column >= $1 AND column < $2``, both ``timestamptz``; the read's session time
  zone is UTC, so a ``date`` or ``timestamp`` column compares as UTC. Without an interval a
  query's parameters are ``0001-01-01 00:00:00+00`` and ``9999-12-31 23:59:59+00``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

Bounds = tuple[datetime, datetime]
NAMES = ("interval_start", "interval_end")
# ``:interval_start`` not preceded by ':' or a word character (``x::interval_start`` is a cast)
_NAMED = re.compile(r"(?<![:\w]):(interval_start|interval_end)\b")
_SQLITE_WHOLE = ("0000-01-01 00:00:00", "9999-12-31 23:59:59")
_POSTGRES_WHOLE = (datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))


def uses_interval(query: str | None) -> bool:
    """Whether a custom query names ``:interval_start`` or ``:interval_end``.

    >>> uses_interval("select * from t where u >= :interval_start")
    True
    >>> uses_interval("select x::interval_start from t")
    False
    """
    return query is not None and _NAMED.search(query) is not None


def sqlite_params(interval: Bounds | None) -> dict[str, str]:
    """The named parameters a SQLite read binds: the bounds as SQLite datetime text, UTC.

    >>> from datetime import timedelta, timezone
    >>> sqlite_params((datetime(2026, 3, 1, 1, tzinfo=timezone(timedelta(hours=1))),
    ...                datetime(2026, 3, 2, tzinfo=UTC)))
    {'interval_start': '2026-03-01 00:00:00', 'interval_end': '2026-03-02 00:00:00'}
    """
    if interval is None:
        return dict(zip(NAMES, _SQLITE_WHOLE, strict=True))
    texts = (at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") for at in interval)
    return dict(zip(NAMES, texts, strict=True))


def sqlite_condition(column: str) -> str:
    """The SQLite condition keeping ``column`` inside the bound interval."""
    quoted = '"' + column.replace('"', '""') + '"'
    return (
        f"datetime({quoted}) >= datetime(:interval_start) "
        f"and datetime({quoted}) < datetime(:interval_end)"
    )


def postgres_query(query: str) -> str:
    """``query`` with ``:interval_start``/``:interval_end`` as PostgreSQL's ``$1``/``$2``.

    >>> postgres_query("select * from t where u >= :interval_start and u < :interval_end")
    'select * from t where u >= $1 and u < $2'
    """
    return _NAMED.sub(lambda m: f"${NAMES.index(m.group(1)) + 1}", query)


def postgres_params(interval: Bounds | None) -> tuple[datetime, datetime]:
    """The values of ``$1`` and ``$2`` (bound as ``timestamptz``): the bounds in UTC, or
    the widest the driver binds without an interval."""
    if interval is None:
        return _POSTGRES_WHOLE
    return (interval[0].astimezone(UTC), interval[1].astimezone(UTC))
