"""Build one data interval of a partitioned model: replace that interval's rows atomically.

The model's SQL reads the interval as on DuckDB, ``getvariable('interval_start')`` and
``getvariable('interval_end')`` (``TIMESTAMPTZ``, the interval ``[start, end)``): here
``_headwater.getvariable`` reads two settings set for the build's transaction only
(``set_config(..., true)``). A whole build sets them to ``-infinity`` and ``infinity``. The
transaction's ``TimeZone`` is the run's zone, so a ``DATE`` column compares as its local
midnight.

In ONE transaction: the table is created (empty, the model's columns) on the first build;
the model's rows are staged; a row outside ``[start, end)`` (or NULL) fails the build with
one line; the interval's rows are DELETEd and the staged rows INSERTed; ``audit`` runs;
commit. Any failure rolls back: the interval's old rows stay. As every build, it plans
without nested loops and refreshes the table's statistics before ``audit``
(:mod:`.planning`).
"""

from __future__ import annotations

from datetime import datetime

from headwater.engines.postgres.connection import PgCursor
from headwater.engines.postgres.decorrelate import decorrelated
from headwater.engines.postgres.materialize import Audit, kind_of, materialize, temp_columns
from headwater.engines.postgres.planning import analyze
from headwater.engines.postgres.project_sql import ProjectCursor
from headwater.engines.postgres.sql import column_list, ident, qualified
from headwater.errors import EngineError

_STAGE = "_hw_partition"
_IN = "{col} >= getvariable('interval_start') and {col} < getvariable('interval_end')"


def _set_interval(cur: PgCursor, start: datetime | None, end: datetime | None, tz: str) -> None:
    """The interval and the zone, for the current transaction only."""
    cur.execute("select set_config('TimeZone', ?, true)", [tz])
    lower = start.isoformat() if start else "-infinity"
    upper = end.isoformat() if end else "infinity"
    cur.execute("select set_config('headwater.interval_start', ?, true)", [lower])
    cur.execute("select set_config('headwater.interval_end', ?, true)", [upper])


def build_partition(
    cur: PgCursor,
    schema: str,
    table: str,
    sql: str,
    *,
    partition_by: str,
    interval: tuple[datetime, datetime] | None,
    tz: str,
    audit: Audit = None,
) -> int | None:
    """``interval``'s rows replaced (or, None, the whole table rebuilt); the rows built."""
    with cur.transaction():
        if interval is None:
            _set_interval(cur, None, None, tz)
            return materialize(
                cur, schema, table, sql, materialized="table", unique_key=[],
                time_column=None, lookback=None, audit=audit,
            )  # fmt: skip
        start, end = interval
        _set_interval(cur, start, end, tz)
        sql = decorrelated(cur, sql)  # as a whole build's (materialize.py)
        return _replace_interval(cur, schema, table, sql, partition_by, start, end, audit)


def _replace_interval(
    cur: PgCursor,
    schema: str,
    table: str,
    sql: str,
    partition_by: str,
    start: datetime,
    end: datetime,
    audit: Audit,
) -> int:
    target = qualified(schema, table)
    inside = _IN.format(col=ident(partition_by))
    kind = kind_of(cur, schema, table)
    if kind not in (None, "BASE TABLE"):
        raise EngineError(f"{target} is a {kind.lower()}: rebuild it whole first")
    cur.execute(f"drop table if exists {_STAGE}")
    cur.execute(f"create temp table {_STAGE} as select * from ({sql}) as _hw_model")
    if kind is None:
        cur.execute(f"create table {target} as select * from {_STAGE} limit 0")
    col = ident(partition_by)
    outside = cur.execute(
        f"select count(*), min({col})::text, max({col})::text from {_STAGE} "
        f"where ({inside}) is not true"
    ).fetchone()
    if outside and outside[0]:
        raise EngineError(
            f"{target}: the model returned {outside[0]} row(s) with {partition_by} outside "
            f"the interval [{start.isoformat()}, {end.isoformat()}) (from {outside[1]} to "
            f"{outside[2]}): filter on getvariable('interval_start') and "
            "getvariable('interval_end')"
        )
    cur.execute(f"delete from {target} where {inside}")
    names = column_list(temp_columns(cur, _STAGE))
    count = cur.execute(f"insert into {target} ({names}) select {names} from {_STAGE}").rowcount
    analyze(cur, target)
    if audit is not None:
        audit(ProjectCursor(cur), target)
    cur.execute(f"drop table {_STAGE}")
    return count
