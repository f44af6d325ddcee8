"""Column-level lineage of an asset (``GET /api/assets/{name}/lineage``): for each of its
columns in the warehouse, the upstream columns that feed it.

- A SQL model: sqlglot's lineage of its SQL as it runs (references qualified), over the
  warehouse's schemas of the assets it reads (:func:`headwater.project.lineage.column_lineage`).
- A source: each column comes from the column of the same name of its table (a
  connection's table, the files, or the source's query); Headwater's own columns
  (``_hw_*``: the load, the file, the time) from nothing upstream.
- A Python model or task, and any column sqlglot cannot trace: ``inputs`` is None,
  "unknown"; never a guess.

Columns are the warehouse's (:func:`warehouse_columns`, read-only, through the same query
path as ``headwater query``); an asset not built yet has the columns its SQL names.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from headwater.api.project import ProjectLike, as_project, has_warehouse
from headwater.errors import HeadwaterError, UnknownAssetError
from headwater.project import Project
from headwater.project.asset import Asset

__all__ = [
    "ColumnInfo",
    "ColumnRef",
    "asset_of",
    "column_lineage",
    "source_origin",
    "warehouse_columns",
]

HEADWATER_COLUMN_PREFIX = "_hw_"  # columns a load adds (its id, file, time)
_COLUMNS_SQL = (
    "select table_schema, table_name, column_name, data_type from information_schema.columns "
    "where table_catalog = current_database() and table_schema <> '_headwater' {only}"
    "order by table_schema, table_name, ordinal_position"
)


@dataclass(frozen=True)
class ColumnRef:
    """An upstream column: of ``asset`` (a project asset), or, when ``asset`` is None, of
    ``table`` outside the warehouse (a source's database table, files or query)."""

    asset: str | None
    table: str
    column: str

    def to_json(self) -> dict[str, Any]:
        return {"asset": self.asset, "table": self.table, "column": self.column}


@dataclass(frozen=True)
class ColumnInfo:
    """One column of an asset: its warehouse type (None before the asset is built) and the
    columns it is computed from (``inputs``: [] from none, e.g. ``count(*)``; None unknown)."""

    column: str
    type: str | None
    inputs: list[ColumnRef] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "type": self.type,
            "inputs": None if self.inputs is None else [i.to_json() for i in self.inputs],
        }


def asset_of(project: Project, name: str) -> Asset:
    """The asset called ``name`` (full or short name); UnknownAssetError otherwise."""
    if name in project.graph:
        return project.graph[name]
    found = [a for a in project.graph if a.short_name == name]
    if len(found) != 1:
        raise UnknownAssetError(f"no asset {name!r} (see `headwater graph`)")
    return found[0]


def warehouse_columns(
    project: ProjectLike, names: Collection[str] | None = None
) -> dict[str, list[tuple[str, str]]]:
    """The columns and types of every warehouse table and view (or only of those called
    ``names``), by ``schema.table`` (the asset's name), in column order; {} when there is
    no warehouse yet."""
    from headwater.api.history import query, sql_string

    proj = as_project(project)
    only = ""
    if names is not None:  # literals, not params (sql_string says why)
        marks = ", ".join(sql_string(n) for n in sorted(names)) or "null"
        only = f"and table_schema || '.' || table_name in ({marks}) "
    try:
        found = query(proj, _COLUMNS_SQL.format(only=only))
    except HeadwaterError:
        if not has_warehouse(proj):
            return {}
        raise
    out: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, type_ in found.rows:
        out.setdefault(f"{schema}.{table}", []).append((str(column), str(type_)))
    return out


def column_lineage(
    project: ProjectLike,
    name: str,
    *,
    columns: dict[str, list[tuple[str, str]]] | None = None,
) -> list[ColumnInfo]:
    """The columns of asset ``name`` with their inputs (see the module's docstring).
    ``columns``: :func:`warehouse_columns`, when the caller already has them. Raises
    UnknownAssetError for an unknown asset, as :func:`headwater.api.query` otherwise."""
    proj = as_project(project)
    node = asset_of(proj, name)
    schemas = columns if columns is not None else warehouse_columns(proj, {node.name, *node.deps})
    own = schemas.get(node.name, [])
    if node.kind == "source":
        return [ColumnInfo(c, t, _source_inputs(node, c)) for c, t in own]
    if node.sql is None:  # a Python model or a task: its code is not traced
        return [ColumnInfo(c, t, None) for c, t in own]
    traced = _traced(proj, node, schemas)
    if not own:  # not built yet: the columns its SQL names
        return [ColumnInfo(c, None, refs) for c, refs in traced.items()]
    by_lower = {c.lower(): refs for c, refs in traced.items()}
    return [ColumnInfo(c, t, by_lower.get(c.lower())) for c, t in own]


def _traced(
    project: Project, node: Asset, schemas: dict[str, list[tuple[str, str]]]
) -> dict[str, list[ColumnRef] | None]:
    from headwater.models.compile import compile_sql
    from headwater.project.lineage import column_lineage as trace

    sql = compile_sql(node, project.graph)
    upstream = {d: dict(schemas[d]) for d in node.deps if d in schemas}
    found = trace(sql, upstream)
    lowered = {d.lower(): d for d in node.deps}
    return {
        column: None
        if refs is None
        else [ColumnRef(lowered.get(t.lower(), t), lowered.get(t.lower(), t), c) for t, c in refs]
        for column, refs in found.items()
    }


def _source_inputs(node: Asset, column: str) -> list[ColumnRef]:
    if column.startswith(HEADWATER_COLUMN_PREFIX) or node.source is None:
        return []
    return [ColumnRef(None, source_origin(node), column)]


def source_origin(node: Asset) -> str:
    """Where a source asset's rows come from: ``connection.table``, the files' pattern, or
    the source's query."""
    assert node.source is not None
    spec = node.source
    if spec.table is not None:
        return f"{spec.settings.connection or spec.source}.{spec.table}"
    if spec.settings.files is not None:
        return spec.settings.files
    if spec.settings.kafka is not None:
        return f"{spec.settings.connection}.{','.join(spec.settings.kafka.topics)}"
    return f"query of source {spec.source}"
