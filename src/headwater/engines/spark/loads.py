"""One source load on Spark: the rows are reconciled in a scratch DuckDB, written as a new
Parquet version, checked on Spark and published with the load's state in one switch.

Why DuckDB reconciles: a load's semantics (the four write dispositions, cursor boundaries,
several rows of a key, schema contracts, rejected rows) are DuckDB's loads module, and the
Spark engine must answer exactly as DuckDB does. The scratch database (in memory, spilling
under the warehouse's ``_hw_scratch``) receives the current version's Parquet files, runs
that module unchanged, and writes the resulting table as the new version's Parquet files;
Spark then registers them, runs the asset's checks on them (pushed down: Spark SQL through
:class:`~headwater.engines.spark.cursor.SparkCursor`), and switches the view
(:mod:`headwater.engines.spark.versions`). The sources' rows thus land through Arrow (a
stream) or DuckDB's file scan (``scan_sql``), both single-machine reads; the table itself
is Spark's from then on.

Cost: every load rewrites the whole table through one machine (O(table), see versions.py):
fine for the tables of a source; the models built on them are Spark's own statements.
A load that writes nothing (``rows_written`` 0) republishes the same version with its new
state: no rows are copied.

Quarantine (``on_fail = quarantine``) and releases run in the same scratch DuckDB, on a copy
of the published ``quarantine.<table>``; a changed quarantine is a new version of it,
switched with the table in the order :mod:`.quarantine` explains. The split stays here
because the rows it screens are the load's, already on this machine; what scales with the
warehouse is pushed down: a relationships check's other table is read on Spark, which
returns only the staged keys' matches, and the scratch database sees just those
(:mod:`.lookups`), never the whole other table.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from headwater.engines.base import STATE_SCHEMA, LoadRequest, LoadResult
from headwater.engines.duckdb.engine import _STATE_DDL
from headwater.engines.duckdb.loads import run_load
from headwater.engines.duckdb.sql import ident as duck_ident
from headwater.engines.duckdb.sql import qualified as duck_qualified
from headwater.engines.duckdb.sql import string
from headwater.engines.screen import reads_of
from headwater.engines.spark import lookups, quarantine, versions
from headwater.engines.spark.cursor import SparkCursor, project_name
from headwater.errors import EngineError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def spark_load(spark: SparkSession, warehouse: Path, asset: str, req: LoadRequest) -> LoadResult:
    """Write one load and publish it with its state (see the module's docstring); the
    quarantine it moves rows in or out of with it (:mod:`.quarantine`)."""
    current = versions.published(spark, req.schema, req.table)
    if current is not None and current.version is None:
        raise EngineError(f"{req.schema}.{req.table}: a view is in the way of the load")
    # the quality hooks (quarantine, a release) run in the scratch DuckDB, on its copy
    hooks = req.screen is not None or req.before_stage is not None
    qtable = quarantine.table_of(asset)
    if hooks:
        quarantine.roll_forward(spark, current, qtable)
    con = quarantine.scratch(warehouse)
    try:
        con.execute(_STATE_DDL)
        con.execute(f"create schema if not exists {duck_ident(req.schema)}")
        if current is not None and current.version and not req.full_refresh:
            files = versions.version_dir(warehouse, current.version) / "*.parquet"
            con.execute(
                f"create table {duck_qualified(req.schema, req.table)} as "
                f"select * from read_parquet({string(str(files))})"
            )
        staged = quarantine.stage(con, spark, warehouse, qtable) if hooks else None
        quarantined = quarantine.relation(qtable) if staged and staged.version else None
        here = dataclasses.replace(
            req, audit=None, screen=_screen(spark, warehouse, req),
            before_stage=_before(spark, warehouse, req, quarantined),
        )  # fmt: skip
        result = run_load(con, asset, here)
        state = _state(con, asset, req, current)
        rejected = con.execute(f"select * from {STATE_SCHEMA}.rejected_rows").to_arrow_table()
        moved = None
        if staged is not None:
            moved = quarantine.write_changed(con, spark, warehouse, qtable, staged, req.load_id)
        if (
            current is not None
            and current.version
            and not req.full_refresh
            and not (result.rows_written or result.schema_changes)
        ):
            version = current.version  # nothing new: the same rows, the new state
        else:
            try:
                version = _write_version(con, spark, warehouse, req)
            except BaseException:
                if moved is not None:
                    versions.drop_version(spark, warehouse, moved[0])
                raise
    finally:
        con.close()
    _publish(spark, warehouse, asset, req, current, version, state, moved)
    if hooks:
        quarantine.sweep(spark, warehouse, qtable)
    _record(spark, asset, req, result, rejected)
    return result


def _screen(
    spark: SparkSession, warehouse: Path, req: LoadRequest
) -> Callable[[Any, str], Any] | None:
    """The load's screen, preceded by what its relationships checks read (``reads``, see
    :mod:`headwater.engines.screen`): each other table shown in the scratch database with
    only the staged keys' matches, found on Spark (:mod:`.lookups`)."""
    screen, reads = req.screen, reads_of(req.screen)
    if screen is None or not reads:
        return screen

    def screened(cur: Any, staged: str) -> Any:
        # on the screen's own cursor: the staged rows are its temp table
        lookups.show_found(cur, spark, warehouse, staged, reads, f"{req.schema}.{req.table}")
        return screen(cur, staged)

    return screened


def _before(
    spark: SparkSession, warehouse: Path, req: LoadRequest, quarantined: str | None
) -> Callable[[Any], Any] | None:
    """A release's ``before_stage``, preceded by what its relationships checks read, for
    the keys of the ``quarantined`` rows it re-validates (as :func:`_screen` does)."""
    hook, reads = req.before_stage, reads_of(req.before_stage)
    if hook is None or not reads or quarantined is None:
        return hook

    def prepared(cur: Any) -> Any:
        own = f"{req.schema}.{req.table}"
        lookups.show_found(cur, spark, warehouse, quarantined, reads, own)
        return hook(cur)

    return prepared


def _publish(
    spark: SparkSession,
    warehouse: Path,
    asset: str,
    req: LoadRequest,
    current: versions.Published | None,
    version: str,
    state: dict[str, Any],
    moved: tuple[str, bool] | None,
) -> None:
    """Audit the new version, then switch the views: the quarantine's first when rows
    entered it, the table's first when rows left it (why: :mod:`.quarantine`)."""
    qversion, released = moved if moved is not None else (None, False)
    qtable = quarantine.table_of(asset)
    quarantine_shown = False
    try:
        if req.audit is not None and version != (current.version if current else None):
            req.audit(SparkCursor(spark), project_name(versions.VERSIONS, version))
        if qversion is not None and not released:
            quarantine.publish(spark, qtable, qversion, f"{req.schema}.{req.table}")
            quarantine_shown = True
        versions.publish(
            spark, req.schema, req.table, version, asset=asset, state=state,
            load_id=req.load_id, quarantine=qversion,
        )  # fmt: skip
    except BaseException:
        if current is None or version != current.version:
            versions.drop_version(spark, warehouse, version)
        if qversion is not None and not quarantine_shown:
            versions.drop_version(spark, warehouse, qversion)
        raise
    if qversion is not None and released:
        quarantine.publish(spark, qtable, qversion, f"{req.schema}.{req.table}")
    versions.drop_stale_versions(spark, warehouse, req.schema, req.table, keep=version)


def _state(
    con: duckdb.DuckDBPyConnection,
    asset: str,
    req: LoadRequest,
    current: versions.Published | None,
) -> dict[str, Any]:
    """The state to publish: the one the load wrote, else (a backfill window, which keeps
    its state) what was published, or nothing after a full refresh."""
    row = con.execute(f"select state from {STATE_SCHEMA}.state where asset = ?", [asset]).fetchone()
    if row and row[0]:
        return dict(json.loads(row[0]))
    if req.full_refresh or current is None:
        return {}
    return current.state


def _write_version(
    con: duckdb.DuckDBPyConnection, spark: SparkSession, warehouse: Path, req: LoadRequest
) -> str:
    """The scratch table as a new version's Parquet files, registered in the catalog."""
    name = versions.version_name(req.schema, req.table, req.load_id)
    where = versions.version_dir(warehouse, name)
    where.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"copy {duck_qualified(req.schema, req.table)} to {string(str(where / 'part-0.parquet'))} "
        "(format parquet, compression zstd)"
    )
    try:
        versions.register(spark, name, where)
    except BaseException:
        versions.drop_version(spark, warehouse, name)
        raise
    return name


def _record(
    spark: SparkSession, asset: str, req: LoadRequest, result: LoadResult, rejected: Any
) -> None:
    """The load's line in ``_headwater.loads`` and its rejected rows, after the switch (a
    crash in between loses this history line, never the rows or the state)."""
    changes = [dataclasses.asdict(c) for c in result.schema_changes]
    row = [
        req.load_id, asset, result.rows_read, result.rows_written, result.rows_rejected,
        result.rows_superseded, json.dumps(changes) if changes else None, req.run_id,
    ]  # fmt: skip
    frame = spark.createDataFrame(
        [row],
        "load_id bigint, asset string, rows_read bigint, rows_written bigint, "
        "rows_rejected bigint, rows_superseded bigint, schema_changes string, run_id string",
    )
    frame.selectExpr("*", "current_timestamp() as loaded_at").createOrReplaceTempView("_hw_load")
    spark.sql(
        f"insert into {STATE_SCHEMA}.loads select load_id, asset, rows_read, rows_written, "
        "rows_rejected, loaded_at, run_id, rows_superseded, schema_changes from _hw_load"
    )
    if rejected.num_rows:
        spark.createDataFrame(rejected).createOrReplaceTempView("_hw_rejected")
        spark.sql(f"insert into {STATE_SCHEMA}.rejected_rows select * from _hw_rejected")
