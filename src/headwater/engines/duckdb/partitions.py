"""Build one data interval of a partitioned model: replace that interval's rows atomically.

The model's SQL reads the interval through two DuckDB variables set on the build's cursor
(no templating): ``getvariable('interval_start')`` and ``getvariable('interval_end')``, both
``TIMESTAMPTZ``, the interval ``[start, end)``. A whole build (no interval) sets them to
``-infinity`` and ``infinity``, so ``where order_date >= getvariable('interval_start') and
order_date < getvariable('interval_end')`` keeps every row. The cursor's ``TimeZone`` is the
run's zone during the build, so a ``DATE`` partition column compares as its local midnight.

:func:`replace_interval`, in ONE transaction: the table is created (empty, with the model's
columns) on the first build; the model's rows are staged; a row whose partition column is
outside ``[start, end)`` (or NULL) fails the build with one line; the target's rows in the
interval are deleted and the staged rows inserted; ``audit`` runs; commit. Any failure (the
SQL's, the check's, a crash) rolls back: the interval's old rows stay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import duckdb

from headwater.engines.duckdb.sql import ident, qualified
from headwater.errors import EngineError

_STAGE = "_hw_partition"
_IN = "{col} >= getvariable('interval_start') and {col} < getvariable('interval_end')"


@contextmanager
def interval_variables(
    cur: duckdb.DuckDBPyConnection, start: datetime | None, end: datetime | None, tz: str
) -> Iterator[None]:
    """Set ``interval_start``/``interval_end`` (None: -infinity/infinity) and the cursor's
    ``TimeZone`` for the statements run inside; the cursor's zone is restored after."""
    lower = f"timestamptz '{start.isoformat()}'" if start else "'-infinity'::timestamptz"
    upper = f"timestamptz '{end.isoformat()}'" if end else "'infinity'::timestamptz"
    cur.execute(f"set variable interval_start = {lower}")
    cur.execute(f"set variable interval_end = {upper}")
    row = cur.execute("select current_setting('TimeZone')").fetchone()
    before = str(row[0]) if row else None
    zone = tz.replace("'", "''")  # an IANA name, checked when the project loaded
    cur.execute(f"set session TimeZone = '{zone}'")
    try:
        yield
    finally:  # the zone the cursor had (another statement of this thread may rely on it)
        if before is None:
            cur.execute("reset session TimeZone")
        else:
            cur.execute("set session TimeZone = '{}'".format(before.replace("'", "''")))


def replace_interval(
    cur: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    sql: str,
    *,
    partition_by: str,
    start: datetime,
    end: datetime,
    tz: str,
    audit: Callable[[duckdb.DuckDBPyConnection, str], object] | None = None,
) -> int:
    """Replace the rows of ``schema.table`` in ``[start, end)`` by the SELECT's; returns how
    many rows the interval now holds. EngineError (one line) when the SELECT returns a row
    outside the interval."""
    target = qualified(schema, table)
    inside = _IN.format(col=ident(partition_by))
    with interval_variables(cur, start, end, tz):
        cur.execute("begin transaction")
        try:
            cur.execute(f"create temp table {_STAGE} as select * from ({sql})")
            if _exists(cur, schema, table) is None:
                cur.execute(f"create table {target} as select * from {_STAGE} limit 0")
            outside = cur.execute(
                f"select count(*), min({ident(partition_by)}), max({ident(partition_by)}) "
                f"from {_STAGE} where ({inside}) is not true"
            ).fetchone()
            if outside and outside[0]:
                raise EngineError(
                    f"{target}: the model returned {outside[0]} row(s) with {partition_by} "
                    f"outside the interval [{start.isoformat()}, {end.isoformat()}) "
                    f"(from {outside[1]} to {outside[2]}): filter on "
                    "getvariable('interval_start') and getvariable('interval_end')"
                )
            cur.execute(f"delete from {target} where {inside}")
            cur.execute(f"insert into {target} by name select * from {_STAGE}")
            counted = cur.execute(f"select count(*) from {_STAGE}").fetchone()
            if audit is not None:
                audit(cur, target)
            cur.execute("commit")
        except BaseException:
            cur.execute("rollback")
            raise
        finally:
            cur.execute(f"drop table if exists {_STAGE}")
    return int(counted[0]) if counted else 0


def _exists(cur: duckdb.DuckDBPyConnection, schema: str, table: str) -> str | None:
    row = cur.execute(
        "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    if row is not None and row[0] != "BASE TABLE":
        raise EngineError(
            f"{qualified(schema, table)} is a {row[0].lower()}: rebuild it whole first"
        )
    return row[0] if row else None
