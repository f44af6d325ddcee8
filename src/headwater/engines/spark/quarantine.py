"""Quarantine on Spark: ``quarantine.<table>`` is a versioned view like every table here,
changed by the same load that changes its asset's table, and published with it.

The quality module's quarantine (rows failing ``on_fail = quarantine`` checks moved aside
with their checks, reason and load id; a release taking them back) runs unchanged in the
load's scratch DuckDB (:mod:`.loads`): :func:`stage` copies the published quarantine
version into it, the load's ``screen`` and ``before_stage`` hooks move rows in or out as on
DuckDB, and :func:`write_changed` writes the result as a new quarantine version
``_hw_versions.quarantine__<table>__<load id>`` (nothing when no row moved).

Two views change, and Hive switches one at a time, so the order is chosen so that a
process killed between the two switches never leaves a row in both or in neither:

- rows *entering* quarantine (a load's screen): the quarantine view switches first, then
  the table's view (the load's commit, with its state). Killed between, the failing rows
  are in quarantine and the load is not committed: its good rows are in neither version
  and its cursor did not move, so the next load reads them again; the failing rows come
  again too and are not quarantined twice (identical rows are skipped, as on DuckDB).
- rows *leaving* quarantine (a release): the table's view switches first, naming the new
  quarantine version in its properties (``headwater.quarantine``); the quarantine view
  follows. Killed between, the table is committed and names the quarantine version that
  goes with it: :func:`roll_forward`, run before the asset's next load and when the engine
  prepares a run, publishes it (a version named by a committed table is never dropped
  before that). Until then a reader of ``quarantine.<table>`` sees the released rows
  still there (the table's view is the truth).
- rows *discarded* (``headwater quarantine discard``, :func:`change`): only the quarantine
  changes, so one switch publishes it and no order is needed. The discard first rolls a
  killed release forward (it starts from the quarantine the committed table names), and
  its version's id is a new load id, above every version before it, so :func:`roll_forward`
  never brings an older one back; the version the table names is then older than the
  published one, and :func:`sweep` may drop it. Killed before the switch, nothing is
  discarded and the next :func:`sweep` drops the unpublished version.

The relationships checks of a load's screen read their other table on Spark
(:mod:`.lookups`): the split itself stays in the scratch DuckDB, with the load's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb

from headwater.engines.duckdb.sql import qualified as duck_qualified
from headwater.engines.duckdb.sql import string
from headwater.engines.spark import versions

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SCHEMA = "quarantine"
T = TypeVar("T")


def table_of(asset: str) -> str:
    """The quarantine table of an asset: ``raw.orders`` -> ``orders`` (as on DuckDB)."""
    return asset.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Staged:
    """The published quarantine copied into the scratch database: its version and rows."""

    version: str | None
    rows: int


def _number(version: str | None) -> int:
    """A version's id (its name's suffix); -1 for none."""
    return int(version.rsplit("__", 1)[-1]) if version else -1


def roll_forward(spark: SparkSession, data: versions.Published | None, table: str) -> None:
    """Publish the quarantine version the committed table names, when the quarantine view
    is older (a release killed between its two switches); else nothing."""
    named = data.quarantine if data is not None else None
    if not named:
        return
    shown = versions.published(spark, SCHEMA, table)
    if _number(named) > _number(shown.version if shown else None):
        publish(spark, table, named)


def roll_forward_all(spark: SparkSession) -> None:
    """:func:`roll_forward` for every quarantine table (a run's start: the tables a release
    was committed to name their quarantine version)."""
    if not spark.catalog.databaseExists(SCHEMA):
        return
    for t in spark.catalog.listTables(SCHEMA):
        shown = versions.published(spark, SCHEMA, t.name)
        owner = _owner(shown)
        if owner is not None:
            roll_forward(spark, versions.published(spark, *owner), t.name)


def _owner(shown: versions.Published | None) -> tuple[str, str] | None:
    """The table a quarantine view belongs to (its ``headwater.owner`` property)."""
    if shown is None or not shown.owner or "." not in shown.owner:
        return None
    schema, table = shown.owner.split(".", 1)
    return schema, table


def scratch(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """A load's scratch DuckDB: in memory, spilling under the warehouse's ``_hw_scratch``."""
    where = warehouse / "_hw_scratch"
    where.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(config={"temp_directory": str(where)})


def change(
    spark: SparkSession,
    warehouse: Path,
    asset: str,
    edit: Callable[[Any], T],
    version_id: int,
) -> T:
    """Apply ``edit`` (the quality module's statements on a DuckDB cursor: a discard) to a
    copy of the published ``quarantine.<table>`` and, when rows changed, publish the
    result as version ``version_id`` in one switch (the asset's table is unchanged: see
    the module's docstring). Returns what ``edit`` returns."""
    table = table_of(asset)
    owner = _owner(versions.published(spark, SCHEMA, table))
    if owner is not None:  # a release killed between its switches goes live first
        roll_forward(spark, versions.published(spark, *owner), table)
    con = scratch(warehouse)
    try:
        staged = stage(con, spark, warehouse, table)
        out = edit(con)
        moved = write_changed(con, spark, warehouse, table, staged, version_id)
    finally:
        con.close()
    if moved is not None:
        try:
            publish(spark, table, moved[0])
        except BaseException:
            versions.drop_version(spark, warehouse, moved[0])
            raise
        sweep(spark, warehouse, table)
    return out


def stage(
    con: duckdb.DuckDBPyConnection, spark: SparkSession, warehouse: Path, table: str
) -> Staged:
    """Copy the published ``quarantine.<table>`` into the scratch database (as the quality
    module expects it there); what was copied."""
    shown = versions.published(spark, SCHEMA, table)
    if shown is None or not shown.version:
        return Staged(None, 0)
    files = versions.version_dir(warehouse, shown.version) / "*.parquet"
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(
        f"create table {duck_qualified(SCHEMA, table)} as "
        f"select * from read_parquet({string(str(files))})"
    )
    return Staged(shown.version, _rows(con, table))


def write_changed(
    con: duckdb.DuckDBPyConnection,
    spark: SparkSession,
    warehouse: Path,
    table: str,
    staged: Staged,
    load_id: int,
) -> tuple[str, bool] | None:
    """The scratch quarantine as a new version (files written, registered, not published)
    when the load moved rows in or out: its name, and whether rows left (a release). None
    when it is unchanged."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [SCHEMA, table],
    ).fetchone()
    if not exists or not exists[0]:
        return None
    rows = _rows(con, table)
    if staged.version is not None and rows == staged.rows:
        return None  # no row came or left (a re-read's rows are not quarantined twice)
    if staged.version is None and rows == 0:
        return None
    name = versions.version_name(SCHEMA, table, load_id)
    where = versions.version_dir(warehouse, name)
    where.mkdir(parents=True, exist_ok=True)
    try:
        con.execute(
            f"copy {duck_qualified(SCHEMA, table)} to {string(str(where / 'part-0.parquet'))} "
            "(format parquet, compression zstd)"
        )
        versions.register(spark, name, where)
    except BaseException:
        versions.drop_version(spark, warehouse, name)
        raise
    return name, rows < staged.rows


def sweep(spark: SparkSession, warehouse: Path, table: str) -> None:
    """Drop every quarantine version of ``table`` but the published one: older ones, one
    a load killed between its two switches left behind, a half-written one. Run after a
    load's commit (and its :func:`roll_forward`), so the version a committed table names
    is the published one by then."""
    shown = versions.published(spark, SCHEMA, table)
    keep = shown.version if shown is not None else None
    versions.drop_stale_versions(spark, warehouse, SCHEMA, table, keep=keep)


def publish(spark: SparkSession, table: str, version: str, owner: str | None = None) -> None:
    """Switch ``quarantine.<table>`` to ``version`` (the ``schema.table`` it belongs to in
    the view's properties, for :func:`roll_forward_all`; kept when not given)."""
    if owner is None:
        shown = versions.published(spark, SCHEMA, table)
        owner = shown.owner if shown is not None else None
    spark.sql(f"create database if not exists {versions.ident(SCHEMA)}")
    versions.publish(spark, SCHEMA, table, version, owner=owner)


def relation(table: str) -> str:
    """``quarantine.<table>`` as the scratch database names it."""
    return duck_qualified(SCHEMA, table)


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"select count(*) from {duck_qualified(SCHEMA, table)}").fetchone()
    return int(row[0]) if row else 0
