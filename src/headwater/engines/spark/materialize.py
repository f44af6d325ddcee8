"""A model built on Spark from its SELECT (Spark SQL), published atomically.

- ``view``: ``CREATE OR REPLACE VIEW`` (one metastore call).
- ``table``: the SELECT written as a new version (``CREATE TABLE ... USING parquet AS``),
  audited there, then published (:mod:`headwater.engines.spark.versions`).
- ``incremental``: the new version is the current one's rows that the increment does not
  replace plus the increment (on ``unique_key``, or the window newer than
  ``max(time_column) - lookback``), written whole: Spark has no in-place DELETE on Parquet,
  so an incremental build costs a rewrite of the table (it still reads only what the
  SELECT reads).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.engines.spark import versions
from headwater.engines.spark.cursor import SparkCursor, project_name
from headwater.engines.spark.session import functions
from headwater.errors import EngineError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Audit = Callable[[Any, str], object] | None


def materialize(
    spark: SparkSession,
    warehouse: Path,
    schema: str,
    table: str,
    sql: str,
    *,
    materialized: str,
    unique_key: list[str],
    time_column: str | None,
    lookback: str | None,
    audit: Audit = None,
) -> int | None:
    """Build ``schema.table``; ``audit(cursor, target)`` runs on the new version before it
    is published and may raise to keep the previous one."""
    current = versions.published(spark, schema, table)
    if materialized == "view":
        versions.publish_view(spark, schema, table, sql)
        if audit is not None:
            audit(SparkCursor(spark), project_name(schema, table))
        versions.drop_stale_versions(spark, warehouse, schema, table, keep=None)
        return None
    if materialized == "incremental" and current is not None and current.version:
        frame = _increment(spark, current.version, sql, unique_key, time_column, lookback)
    elif materialized in ("table", "incremental"):
        frame = spark.sql(sql)
    else:
        raise EngineError(f"{schema}.{table}: unknown materialization {materialized!r}")
    return publish_frame(spark, warehouse, schema, table, frame, audit=audit)


def publish_frame(
    spark: SparkSession,
    warehouse: Path,
    schema: str,
    table: str,
    frame: DataFrame,
    *,
    audit: Audit = None,
) -> int:
    """Write ``frame`` as a new version of ``schema.table``, audit it, publish it; the rows."""
    name = versions.version_name(schema, table, time.time_ns() // 1000)
    target = versions.qualified(versions.VERSIONS, name)
    try:
        frame.write.format("parquet").saveAsTable(f"{versions.VERSIONS}.{name}")
        count = spark.table(target).count()
        if audit is not None:
            audit(SparkCursor(spark), project_name(versions.VERSIONS, name))
        versions.publish(spark, schema, table, name)
    except BaseException:
        versions.drop_version(spark, warehouse, name)
        raise
    versions.drop_stale_versions(spark, warehouse, schema, table, keep=name)
    return count


def _increment(
    spark: SparkSession,
    version: str,
    sql: str,
    unique_key: list[str],
    time_column: str | None,
    lookback: str | None,
) -> DataFrame:
    """The current version's kept rows and the increment, as one frame (by column name)."""
    F = functions(spark)
    old = spark.table(versions.qualified(versions.VERSIONS, version))
    new = spark.sql(sql)
    if time_column:
        window = f" - interval {versions.literal(lookback)}" if lookback else ""
        since = old.select(F.expr(f"max({versions.ident(time_column)}){window}")).first()
        bound = since[0] if since is not None else None
        if bound is not None:
            new = new.filter(F.col(time_column) > F.lit(bound))
            if not unique_key:
                old = old.filter(F.col(time_column).isNull() | (F.col(time_column) <= F.lit(bound)))
    elif not unique_key:
        raise EngineError(f"{version}: incremental needs unique_key or time_column")
    if unique_key:
        # NULL-safe key match, as DuckDB's "is not distinct from"
        cond = [old[k].eqNullSafe(new[k]) for k in unique_key]
        old = old.join(new.select(*unique_key), on=cond, how="left_anti")
    return old.unionByName(new, allowMissingColumns=True)
