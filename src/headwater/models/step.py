"""Build one model: SQL models through the engine, Python models by calling the function."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from headwater.engines import errors
from headwater.engines.base import Engine
from headwater.errors import EngineError
from headwater.models.compile import CompiledCache, compile_sql
from headwater.models.inputs import model_inputs
from headwater.models.partitions import Bounds, check_aligned, check_partitioning, zone_of
from headwater.project.asset import Asset
from headwater.project.graph import Graph


def run_model(
    asset: Asset,
    *,
    engine: Engine,
    graph: Graph,
    log: logging.Logger,
    audit: Callable[[Any, str], Any] | None = None,
    compiled: CompiledCache | None = None,
    full_refresh: bool = False,
    interval: Bounds | None = None,
    tz: str = "UTC",
) -> int | None:
    """Materialize ``asset``; returns its row count (None for views). ``compiled`` keeps
    compiled SQL between runs. ``full_refresh``: an incremental model is rebuilt whole (as a
    table, in one statement: readers see the old table until the new one commits).

    A partitioned model (``partition_by`` and ``grain``) with a data ``interval`` (aligned
    on its grain in zone ``tz``, else ProjectError) replaces only that interval's rows and
    returns how many it wrote; without one it builds whole. Other models ignore both."""
    cfg = asset.model
    assert cfg is not None and asset.schema and asset.table
    if check_partitioning(asset) is not None and cfg.partition_by and cfg.grain:
        if interval is not None:
            check_aligned(asset, interval, cfg.grain, zone_of(tz))
        sql = _compiled(asset, graph, compiled, engine.capabilities.dialect)
        log.debug("building %s for %s: %s", asset.name, interval or "every interval", sql)
        with _located(asset):
            return engine.materialize_partition(
                asset.schema, asset.table, sql, partition_by=cfg.partition_by,
                interval=interval, tz=tz, audit=audit,
            )  # fmt: skip
    materialized = cfg.materialized
    if full_refresh and materialized == "incremental":
        materialized = "table"
    if asset.function is not None:
        inputs = model_inputs(asset, engine, graph)
        log.info("calling %s(%s)", asset.function.__name__, ", ".join(asset.params))
        result = asset.function(*inputs)  # its own exceptions keep their traceback
        _check_result(asset, result)
        # a relation is lazy: the query the function built runs (and fails) here
        with _located(asset):
            return engine.write_table(
                asset.schema,
                asset.table,
                result,
                materialized=materialized,
                unique_key=cfg.unique_key,
                audit=audit,
            )
    sql = _compiled(asset, graph, compiled, engine.capabilities.dialect)
    log.debug("materializing %s as %s: %s", asset.name, cfg.materialized, sql)
    with _located(asset):
        return engine.materialize_sql(
            asset.schema,
            asset.table,
            sql,
            materialized=materialized,
            unique_key=cfg.unique_key,
            time_column=cfg.time_column,
            lookback=cfg.lookback,
            audit=audit,
        )


#: What ``engine.write_table`` takes, as a model author reads it.
TABLE_RESULTS = (
    "a pyarrow.Table or RecordBatchReader, a pandas or polars DataFrame, or a DuckDB relation"
)
#: The libraries whose objects go to the engine as they are: it takes their tables (and
#: names any of their objects it cannot read); anything else is a mistake said here.
#: pyspark: a Spark DataFrame (local or Spark Connect), the spark engine's own relation.
_TABLE_LIBRARIES = frozenset({"pyarrow", "pandas", "polars", "duckdb", "_duckdb", "pyspark"})


def _check_result(asset: Asset, result: Any) -> None:
    """A Python model's result is a table the engine can write, or the model is named with
    what it returned (DuckDB would say its object 'is not suitable for replacement scans')."""
    library = type(result).__module__.split(".")[0]
    if result is not None and library in _TABLE_LIBRARIES:
        return
    what = "None" if result is None else type(result).__name__
    raise EngineError(
        f"{asset.location}: model {asset.name} returned {what}; return {TABLE_RESULTS}"
    )


def _compiled(asset: Asset, graph: Graph, cache: CompiledCache | None, dialect: str) -> str:
    """The model's SQL as the engine runs it: qualified, rendered for its ``dialect``."""
    if cache is not None:
        return cache.compile(asset, graph, dialect=dialect)
    return compile_sql(asset, graph, dialect=dialect)


@contextmanager
def _located(asset: Asset) -> Iterator[None]:
    """A warehouse error as one line naming the model's file and asset."""
    try:
        yield
    except errors.query_error() as exc:
        first = str(exc).splitlines()[0]
        raise EngineError(f"{asset.location}: {asset.name}: {first}") from None
