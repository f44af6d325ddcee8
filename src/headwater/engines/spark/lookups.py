"""A Spark load's relationships checks: the other table is read on Spark, the split stays
in the load's scratch DuckDB.

A quarantine split screens the load's staged rows, which are on this machine in the
scratch DuckDB (:mod:`.loads`); a relationships check (``column`` must exist in ``to``'s
``field``) also reads another table, which may be as large as the warehouse. Showing that
whole table to the scratch database would make every load read O(warehouse) through one
process. Instead, before the split (and before a release re-validates quarantined rows),
for each such check:

1. the staged rows' distinct non-NULL ``column`` values go to Spark as a small DataFrame
   (from Arrow), cast there to ``field``'s type (``try_cast``: a key that is no value of
   that type matches nothing, as it could equal nothing);
2. Spark semi-joins the other table's published version with them and returns the
   distinct ``field`` values found (:func:`found_keys`): at most one per staged key;
3. the scratch database gets a table ``schema.table`` with the other table's columns and
   types (read from its Parquet files' footers) holding only those values in ``field``
   (the other columns NULL) (:func:`show_found`).

The check's predicate, ``NOT EXISTS (SELECT 1 FROM to WHERE field = column)``, then
answers for every staged row exactly as it would on the whole table: a staged key has a
match in the shown table if and only if it has one in the warehouse's (the shown rows are
the warehouse's matching values, in its types). NULL keys fail no relationships check and
are not sent. The load's work is O(load), plus Spark's own semi-join.

Unchanged from before: the load's own table (a check referring to its own table) is the
scratch copy; a ``to`` that is not a published table (not there yet, or a model's plain
view) is not shown, so the check fails to run and says so, naming the table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from headwater.engines.duckdb.sql import ident as duck_ident
from headwater.engines.duckdb.sql import qualified as duck_qualified
from headwater.engines.duckdb.sql import string
from headwater.engines.spark import versions
from headwater.engines.spark.session import functions
from headwater.project.checks import Check

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from pyspark.sql import SparkSession

_FOUND = "_hw_found_keys"


def found_keys(spark: SparkSession, relation: str, field: str, keys: pa.Table) -> pa.Table:
    """The distinct values of ``relation``'s ``field`` (a Spark table name, quoted) equal to
    a value of ``keys``' first column, computed on Spark; one column ``k`` in ``field``'s
    type. ``keys`` should hold distinct non-NULL values (the staged rows' keys)."""
    F = functions(spark)
    other = spark.table(relation).select(F.col(versions.ident(field)).alias("k"))
    kind = other.schema["k"].dataType
    sent = spark.createDataFrame(keys).select(F.col(keys.column_names[0]).try_cast(kind).alias("k"))
    return other.join(sent.where("k is not null").distinct(), "k", "left_semi").distinct().toArrow()


def show_found(
    con: duckdb.DuckDBPyConnection,
    spark: SparkSession,
    warehouse: Path,
    staged: str,
    checks: Sequence[Check],
    own: str,
) -> None:
    """Show the scratch database, for each relationships check in ``checks``, its ``to``
    table holding only the values :func:`found_keys` finds for the keys of ``staged`` (the
    load's staged rows, or the quarantined rows a release re-validates; see the module's
    docstring). ``own`` is the load's ``schema.table``: the scratch database's own copy,
    never replaced."""
    by_table: dict[str, list[Check]] = defaultdict(list)
    for check in checks:
        if check.to and "." in check.to and check.to.lower() != own.lower():
            by_table[check.to].append(check)
    if not by_table:
        return
    have = {c.lower(): c for c in _types(con, staged)}
    for name, group in sorted(by_table.items()):
        schema, table = name.split(".", 1)
        shown = versions.published(spark, schema, table)
        if shown is None or not shown.version:
            continue  # not there yet, or a model's plain view: the check says so itself
        target = _empty_copy(con, warehouse, schema, table, shown.version)
        fields = {c.lower(): c for c in _types(con, target)}
        for check in group:
            column = have.get((check.column or "").lower())
            field = fields.get((check.field or check.column or "").lower())
            if column is None or field is None:
                continue  # a missing column: the screen's column check names it
            keys = con.execute(
                f"select distinct {duck_ident(column)} as k from {staged} "
                f"where {duck_ident(column)} is not null"
            ).to_arrow_table()
            if not keys.num_rows:
                continue
            relation = versions.qualified(versions.VERSIONS, shown.version)
            found = found_keys(spark, relation, field, keys)
            con.register(_FOUND, found)
            try:
                con.execute(f"insert into {target} ({duck_ident(field)}) select k from {_FOUND}")
            finally:
                con.unregister(_FOUND)


def _empty_copy(
    con: duckdb.DuckDBPyConnection, warehouse: Path, schema: str, table: str, version: str
) -> str:
    """An empty ``schema.table`` in the scratch database with the columns and types of the
    version's Parquet files (read from their footers, as a view over them showed them)."""
    files = versions.version_dir(warehouse, version) / "*.parquet"
    target = duck_qualified(schema, table)
    con.execute(f"create schema if not exists {duck_ident(schema)}")
    con.execute(
        # if not exists: a load's release and screen may both show it (keys add up)
        f"create table if not exists {target} as "
        f"select * from read_parquet({string(str(files))}) limit 0"
    )
    return target


def _types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    return dict(
        con.execute(f"select column_name, column_type from (describe {relation})").fetchall()
    )
