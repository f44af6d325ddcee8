"""One data interval of a partitioned model on Spark: a new version with that interval's rows
replaced, published in one switch of the view (:mod:`headwater.engines.spark.versions`).

The model's SQL reads the interval as on DuckDB, ``getvariable('interval_start')`` and
``getvariable('interval_end')`` (the interval ``[start, end)``): Spark has no such function,
so :func:`bind_interval` puts the two instants in as ``TIMESTAMP`` literals (with their UTC
offset, so they mean the same instant in any session zone). A whole build binds the
earliest and latest instants Spark's ``TIMESTAMP`` holds (DuckDB's ``-infinity`` and
``infinity``). The session's time zone is the run's zone during the build (restored
after), so a ``DATE`` partition column compares as its local midnight, as on DuckDB.

:func:`build_partition` with an interval: the model's rows are computed once (cached); a row
whose partition column is outside ``[start, end)`` (or NULL) fails the build with one line;
the new version is the published version's rows outside the interval plus the model's
rows, written whole (Parquet has no in-place DELETE), audited, then published. Any failure
before the switch leaves the published version as it was: the interval's old rows stay.
Cost: O(table) per interval, as every write on this engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from headwater.engines.spark import versions
from headwater.engines.spark.materialize import Audit, publish_frame
from headwater.errors import EngineError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# a whole build's bounds: every instant Spark's TIMESTAMP holds
_EARLIEST = "0001-01-01T00:00:00+00:00"
_LATEST = "9999-12-31T23:59:59.999999+00:00"
_NAMES = {"interval_start", "interval_end"}


def bind_interval(sql: str, start: datetime | None, end: datetime | None) -> str:
    """``sql`` (Spark SQL) with ``getvariable('interval_start'|'interval_end')`` replaced by
    the bounds as ``TIMESTAMP`` literals (None: the earliest or latest instant).

    >>> bind_interval("select 1 where d >= getvariable('interval_start')", None, None)
    "SELECT 1 WHERE d >= CAST('0001-01-01T00:00:00+00:00' AS TIMESTAMP)"
    """
    import sqlglot
    from sqlglot import exp

    bounds = {
        "interval_start": start.isoformat() if start else _EARLIEST,
        "interval_end": end.isoformat() if end else _LATEST,
    }

    def bind(node: exp.Expr) -> exp.Expr:
        if (
            isinstance(node, exp.Anonymous)
            and str(node.this).lower() == "getvariable"
            and len(node.expressions) == 1
            and isinstance(node.expressions[0], exp.Literal)
            and node.expressions[0].name in _NAMES
        ):
            value = bounds[node.expressions[0].name]
            return exp.cast(exp.Literal.string(value), exp.DataType.build("timestamp"))
        return node

    tree = sqlglot.parse_one(sql, read="spark")
    return tree.transform(bind).sql(dialect="spark")


@contextmanager
def session_zone(spark: SparkSession, tz: str) -> Iterator[None]:
    """The session's time zone is ``tz`` inside (one session per process: the engine's lock
    keeps other threads' statements out meanwhile), the previous one after."""
    before = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", tz)
    try:
        yield
    finally:
        spark.conf.set("spark.sql.session.timeZone", before or "UTC")


def build_partition(
    spark: SparkSession,
    warehouse: Path,
    schema: str,
    table: str,
    sql: str,
    *,
    partition_by: str,
    interval: tuple[datetime, datetime] | None,
    tz: str,
    audit: Audit = None,
) -> int:
    """``interval``'s rows replaced (None: the whole table rebuilt); the rows built."""
    start, end = interval if interval is not None else (None, None)
    bound = bind_interval(sql, start, end)
    with session_zone(spark, tz):
        if interval is None:
            return publish_frame(spark, warehouse, schema, table, spark.sql(bound), audit=audit)
        return _replace_interval(
            spark, warehouse, schema, table, bound, partition_by, interval, audit
        )


def _replace_interval(
    spark: SparkSession,
    warehouse: Path,
    schema: str,
    table: str,
    sql: str,
    partition_by: str,
    interval: tuple[datetime, datetime],
    audit: Audit,
) -> int:
    start, end = interval
    current = versions.published(spark, schema, table)
    if current is not None and not current.version:
        raise EngineError(f"{schema}.{table} is a view: rebuild it whole first")
    col = versions.ident(partition_by)
    lower = versions.literal(start.isoformat())
    upper = versions.literal(end.isoformat())
    inside = f"({col} >= timestamp {lower} and {col} < timestamp {upper})"
    new = spark.sql(sql).cache()  # the model runs once: checked, counted, written
    try:
        outside = (
            new.where(f"{inside} is not true")
            .selectExpr("count(*)", f"cast(min({col}) as string)", f"cast(max({col}) as string)")
            .first()
        )
        if outside is not None and outside[0]:
            raise EngineError(
                f"{schema}.{table}: the model returned {outside[0]} row(s) with {partition_by} "
                f"outside the interval [{start.isoformat()}, {end.isoformat()}) (from "
                f"{outside[1]} to {outside[2]}): filter on getvariable('interval_start') "
                "and getvariable('interval_end')"
            )
        count = new.count()
        frame = new
        if current is not None and current.version:
            kept = spark.table(versions.qualified(versions.VERSIONS, current.version))
            frame = kept.where(f"{inside} is not true").unionByName(new, allowMissingColumns=True)
        publish_frame(spark, warehouse, schema, table, frame, audit=audit)
    finally:
        new.unpersist()
    return count
