"""Atomic replace without transactions: every table is a view over one version.

A table ``schema.t`` the engine writes is published as a Hive *view*
``schema.t = SELECT * FROM _hw_versions.schema__t__<id>`` over a Parquet table holding one
whole version of its rows. A rebuild or load writes a new version beside the current one
(its own directory under the warehouse), registers it, and then replaces the view: one
metastore call, so readers see the old version or the new one, never a part, and a process
killed before the switch leaves the previous version published (its half-written directory
is removed by the next write of that table, :func:`drop_stale_versions`).

A source's load state is committed *with* the switch: it is a property of the view
(``headwater.state``, with ``headwater.asset`` and ``headwater.load_id``), written by the
same ``CREATE OR REPLACE VIEW``, so rows and state cannot disagree after a crash.

Cost: a version is a whole table, so an append, merge or scd2 load rewrites the table
(O(table), where DuckDB and PostgreSQL write O(load)); old versions are dropped once the
new one is published (a reader still scanning one may then fail, and is retried).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.errors import EngineError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

VERSIONS = "_hw_versions"  # the Hive database holding every version table
_PROP = "headwater."


def ident(name: str) -> str:
    """A Spark identifier, quoted."""
    return "`" + name.replace("`", "``") + "`"


def qualified(schema: str, table: str) -> str:
    return f"{ident(schema)}.{ident(table)}"


def literal(value: str) -> str:
    """A Spark string literal (backslash escapes, as Spark's parser reads them)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def version_name(schema: str, table: str, version: int) -> str:
    """The version table's name in :data:`VERSIONS` (Hive names are lowercase)."""
    return f"{schema}__{table}__{version}".lower()


def version_dir(warehouse: Path, name: str) -> Path:
    """Where a version's Parquet files go (Spark's own place for a table of VERSIONS)."""
    return warehouse / f"{VERSIONS}.db" / name


@dataclass(frozen=True)
class Published:
    """What the view of a table says: its version table (None: a model's plain view) and
    the load state committed with it."""

    version: str | None
    asset: str | None
    state: dict[str, Any]
    load_id: int | None
    quarantine: str | None = None  # the quarantine version committed with it (quarantine.py)
    owner: str | None = None  # a quarantine view's asset


def published(spark: SparkSession, schema: str, table: str) -> Published | None:
    """The table's view and its properties, or None when there is no such table or view."""
    if not spark.catalog.tableExists(f"{schema}.{table}"):
        return None
    rows = spark.sql(f"show tblproperties {qualified(schema, table)}").collect()
    props = {r[0][len(_PROP) :]: r[1] for r in rows if r[0].startswith(_PROP)}
    return Published(
        version=props.get("version"),
        asset=props.get("asset"),
        state=json.loads(props["state"]) if props.get("state") else {},
        load_id=int(props["load_id"]) if props.get("load_id") else None,
        quarantine=props.get("quarantine"),
        owner=props.get("owner"),
    )


def register(spark: SparkSession, name: str, location: Path) -> None:
    """Register Parquet files already written at ``location`` as the version table ``name``."""
    spark.sql(
        f"create table {qualified(VERSIONS, name)} using parquet "
        f"location {literal(location.as_uri())}"
    )


def publish(
    spark: SparkSession,
    schema: str,
    table: str,
    version: str,
    *,
    asset: str | None = None,
    state: dict[str, Any] | None = None,
    load_id: int | None = None,
    quarantine: str | None = None,
    owner: str | None = None,
) -> None:
    """Switch ``schema.table`` to ``version`` (and its load state; the ``quarantine``
    version committed with it, or the asset a quarantine view belongs to): one metastore
    call."""
    _refuse_foreign(spark, schema, table)
    props = {"version": version}
    if asset is not None:
        props["asset"] = asset
        props["state"] = json.dumps(state or {}, sort_keys=True)
    if load_id is not None:
        props["load_id"] = str(load_id)
    if quarantine is not None:
        props["quarantine"] = quarantine
    if owner is not None:
        props["owner"] = owner
    listed = ", ".join(f"{literal(_PROP + k)} = {literal(v)}" for k, v in props.items())
    spark.sql(
        f"create or replace view {qualified(schema, table)} tblproperties ({listed}) "
        f"as select * from {qualified(VERSIONS, version)}"
    )


def _refuse_foreign(spark: SparkSession, schema: str, table: str) -> None:
    """A table Headwater did not make (not a view) is never replaced: its data would go."""
    name = f"{schema}.{table}"
    if not spark.catalog.tableExists(name):
        return
    kind = spark.catalog.getTable(name).tableType
    if kind != "VIEW":
        raise EngineError(
            f"{name}: a {kind.lower()} table not made by Headwater is in the way; drop or rename it"
        )


def drop_version(spark: SparkSession, warehouse: Path, name: str) -> None:
    """Drop a version table and its files (external tables keep theirs when dropped)."""
    spark.sql(f"drop table if exists {qualified(VERSIONS, name)}")
    shutil.rmtree(version_dir(warehouse, name), ignore_errors=True)


def drop_stale_versions(
    spark: SparkSession, warehouse: Path, schema: str, table: str, keep: str | None
) -> None:
    """Every version of ``schema.table`` but ``keep``: older ones, and those a killed
    process left half-written (a directory, registered or not). One writer per table."""
    prefix = f"{schema}__{table}__".lower()
    names = {
        t.name
        for t in spark.catalog.listTables(VERSIONS)
        if t.name.startswith(prefix) and t.name[len(prefix) :].isdigit()
    }
    root = warehouse / f"{VERSIONS}.db"
    if root.is_dir():
        names |= {
            p.name
            for p in root.iterdir()
            if p.name.startswith(prefix) and p.name[len(prefix) :].isdigit()
        }
    for name in sorted(names - {keep}):
        drop_version(spark, warehouse, name)


def publish_view(spark: SparkSession, schema: str, table: str, sql: str) -> None:
    """A model's plain view (no version, no state): one metastore call."""
    _refuse_foreign(spark, schema, table)
    spark.sql(f"create or replace view {qualified(schema, table)} as {sql}")
