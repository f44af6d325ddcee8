"""A DB-API-like cursor over a SparkSession, for callers that write the project's SQL.

The SQL callers outside the engine hand a cursor (checks, a task's queries, the quality
hooks ``audit(cursor, table)``) is written in the project's dialect (DuckDB's), with ``?``
placeholders: the cursor binds the parameters as literals and renders the statement for
Spark through :mod:`headwater.engines.dialects` (a construct not proven on Spark is refused
with :class:`~headwater.engines.dialects.Untranslatable`). The engine's own statements,
already Spark SQL, go to the session directly, never through here.

>>> to_spark("select count(*) from t where a = ? and b = ?", ["x", 2])
"SELECT COUNT(*) FROM t WHERE a = 'x' AND b = 2"
>>> to_spark("with d as materialized (select 1 as x) select to_json(list(s)) from (select * from d) as s")
'WITH d AS (SELECT 1 AS x) SELECT TO_JSON(COLLECT_LIST(STRUCT(s.*))) FROM (SELECT * FROM d) AS s'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def to_spark(sql: str, parameters: Sequence[Any] | None = None) -> str:
    """``sql`` (project dialect, ``?`` placeholders) as Spark SQL with ``parameters`` bound."""
    import sqlglot
    from sqlglot import exp

    from headwater.engines.dialects import render_tree
    from headwater.project.sql_errors import PROJECT_DIALECT

    tree = sqlglot.parse_one(sql, dialect=PROJECT_DIALECT)
    if parameters:
        values = iter(parameters)

        def bind(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Placeholder):
                return exp.convert(next(values))
            return node

        tree = tree.transform(bind)
    return render_tree(_for_spark(tree), "spark")


#: ``information_schema`` views the quality module reads, as the cursor's temp views
#: (Spark's Hive catalog has no information_schema): name -> the view's columns
CATALOG_VIEWS = {
    "tables": "table_schema string, table_name string, table_type string",
    "schemata": "schema_name string",
}
_CATALOG_PREFIX = "_hw_information_schema_"


def _for_spark(tree: Any) -> Any:
    """What the quality module's DuckDB SQL needs on Spark: ``list(alias)`` of a subquery's
    rows becomes ``collect_list(struct(alias.*))`` (Spark has no row-valued alias), a
    CTE loses ``MATERIALIZED`` (Spark cannot parse it; it plans CTEs itself),
    ``CAST(floor(x) AS BIGINT)`` is ``floor(x)`` (a BIGINT on Spark: no cast to refuse),
    and ``information_schema.tables`` / ``.schemata`` are the cursor's temp views of the
    catalog (:meth:`SparkCursor.execute`)."""
    import sqlglot
    from sqlglot import exp

    def fix(node: exp.Expr) -> exp.Expr:
        if (
            isinstance(node, exp.Cast)
            and isinstance(node.this, exp.Floor)
            and node.to.is_type(exp.DataType.Type.BIGINT)
        ):
            return node.this  # Spark's floor is a BIGINT already (no rounding to choose)
        if (
            isinstance(node, exp.Table)
            and node.db.lower() == "information_schema"
            and node.name.lower() in CATALOG_VIEWS
        ):
            view = exp.to_table(_CATALOG_PREFIX + node.name.lower())
            if node.alias:
                view.set("alias", node.args["alias"].copy())
            return view
        if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
            node.set("materialized", None)
        if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Column):
            column = node.this
            aliases = {s.alias for s in node.root().find_all(exp.Subquery) if s.alias}
            if not column.table and column.name in aliases:
                node.set("this", sqlglot.parse_one(f"struct({column.name}.*)", read="spark"))
        return node

    return tree.transform(fix)


def project_name(schema: str, table: str) -> str:
    """A table's name as the project's SQL writes it (what audits put in their queries)."""
    from headwater.engines.duckdb.sql import qualified

    return qualified(schema, table)


class SparkCursor:
    """One statement at a time: ``execute`` runs it and keeps its rows for the fetches."""

    def __init__(self, spark: SparkSession) -> None:
        self._spark = spark
        self._rows: list[tuple[Any, ...]] = []
        self.description: list[tuple[str, ...]] | None = None

    def execute(self, sql: str, parameters: object = None, /) -> SparkCursor:
        params = parameters if isinstance(parameters, list | tuple) else None
        rendered = to_spark(sql, params)
        if _CATALOG_PREFIX in rendered:
            self._catalog_views()
        frame = self._spark.sql(rendered)
        self.description = [(name,) for name in frame.columns]
        self._rows = [tuple(row) for row in frame.collect()]
        return self

    def _catalog_views(self) -> None:
        """``information_schema.tables`` and ``.schemata`` as temp views of the catalog as
        it is now (every database's tables and views; Headwater's versions hidden)."""
        from headwater.engines.spark.versions import VERSIONS

        catalog = self._spark.catalog
        schemas = [d.name for d in catalog.listDatabases() if d.name != VERSIONS]
        tables = [
            (db, t.name, "VIEW" if t.tableType == "VIEW" else "BASE TABLE")
            for db in schemas
            for t in catalog.listTables(db)
            if not t.isTemporary
        ]
        rows = {"tables": tables, "schemata": [(db,) for db in schemas]}
        for name, columns in CATALOG_VIEWS.items():
            frame = self._spark.createDataFrame(rows[name], columns)
            frame.createOrReplaceTempView(_CATALOG_PREFIX + name)

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def close(self) -> None:
        self._rows = []
