"""One asset, everything known about it (``GET /api/assets/{name}``, the asset page):
what it is (kind, description, its SQL or Python source), where it sits (upstream and
downstream), its columns with types and lineage (:mod:`headwater.api.lineage`), how its
builds went (row count and time per run, from the metastore's step runs), its checks'
history, its loads (sources), a sample of its rows (read-only, through
:func:`headwater.api.query`) and, for a partitioned model, its grain units.

Every read is read-only. A project never run has no builds; an asset not built yet has no
sample and the columns its SQL names.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from headwater.api.lineage import (
    ColumnInfo,
    asset_of,
    column_lineage,
    source_origin,
    warehouse_columns,
)
from headwater.api.partitions import PartitionInfo
from headwater.api.project import ProjectLike, as_project, has_warehouse, metastore
from headwater.api.records import LoadInfo, QueryResult, plain, seconds_between
from headwater.project import Project
from headwater.project.asset import Asset

__all__ = ["AssetDetail", "BuildInfo", "CheckRun", "asset_detail", "builds", "check_history"]

SAMPLE_ROWS = 20
BUILDS_LOOK_BACK = 200  # the newest runs whose steps make the row count and time charts
PARTITIONS_SHOWN = 400  # the newest grain units of a partitioned model


@dataclass(frozen=True)
class BuildInfo:
    """One step run of the asset: when, how it ended, how long, how many rows."""

    run_id: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    rows_out: int | None

    @property
    def seconds(self) -> float | None:
        return seconds_between(self.started_at, self.finished_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "seconds": self.seconds,
            "rows_out": self.rows_out,
        }


@dataclass(frozen=True)
class CheckRun:
    """One recorded result of one of the asset's checks."""

    run_id: str
    check: str
    type: str
    severity: str
    status: str  # pass | warn | fail | error
    failing: int
    total: int | None
    message: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        out = {k: plain(v) for k, v in self.__dict__.items()}
        out["at"] = self.at.isoformat()
        return out


@dataclass(frozen=True)
class AssetDetail:
    """Everything the asset page shows; lists newest first."""

    name: str
    kind: str
    description: str
    location: str  # file:line (relative to the project) of its definition
    language: str | None  # sql | python | None (a source)
    code: str | None  # its SQL, or its Python function's source
    origin: str | None  # a source: where its rows come from
    tags: list[str]
    upstream: list[str]
    downstream: list[str]
    columns: list[ColumnInfo]
    builds: list[BuildInfo]
    checks: list[CheckRun]
    loads: list[LoadInfo]
    sample: QueryResult | None  # None before it is built
    partitions: list[PartitionInfo] | None  # None unless partitioned

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "location": self.location,
            "language": self.language,
            "code": self.code,
            "origin": self.origin,
            "tags": self.tags,
            "upstream": self.upstream,
            "downstream": self.downstream,
            "columns": [c.to_json() for c in self.columns],
            "builds": [b.to_json() for b in self.builds],
            "checks": [c.to_json() for c in self.checks],
            "loads": [ld.to_json() for ld in self.loads],
            "sample": None
            if self.sample is None
            else {"columns": self.sample.columns, "rows": plain(self.sample.rows)},
            "partitions": None
            if self.partitions is None
            else [p.to_json() for p in self.partitions],
        }


def asset_detail(project: ProjectLike, name: str) -> AssetDetail:
    """The asset called ``name`` (full or short name), all of it. Raises UnknownAssetError
    for an unknown asset; as :func:`headwater.api.query` when the warehouse cannot be read."""
    proj = as_project(project)
    node = asset_of(proj, name)
    columns = warehouse_columns(proj, {node.name, *node.deps})
    language, code = _code(node)
    return AssetDetail(
        name=node.name,
        kind=node.kind,
        description=node.description,
        location=_location(proj, node),
        language=language,
        code=code,
        origin=source_origin(node) if node.source is not None else None,
        tags=list(node.tags),
        upstream=sorted(node.deps),
        downstream=sorted(proj.graph.children[node.name]),
        columns=column_lineage(proj, node.name, columns=columns),
        builds=builds(proj, node.name),
        checks=check_history(proj, node.name),
        loads=_loads(proj, node),
        sample=_sample(proj, node) if node.name in columns else None,
        partitions=_partitions(proj, node),
    )


def builds(project: ProjectLike, name: str, look_back: int = BUILDS_LOOK_BACK) -> list[BuildInfo]:
    """The step runs of asset ``name`` among the newest ``look_back`` runs, newest first."""
    import sqlalchemy as sa

    from headwater.metastore import tables as t

    proj = as_project(project)
    newest = (
        sa.select(t.runs.c.run_id).order_by(t.runs.c.started_at.desc()).limit(look_back)
    ).scalar_subquery()
    s, r = t.step_runs.c, t.runs.c
    query = (
        sa.select(s.run_id, s.status, s.started_at, s.finished_at, s.rows_out)
        .join_from(t.step_runs, t.runs, s.run_id == r.run_id)
        .where(s.step == name, s.run_id.in_(newest))
        .order_by(r.started_at.desc())
    )
    with metastore(proj) as store, store.engine.connect() as conn:
        return [BuildInfo(*row) for row in conn.execute(query)]


def check_history(project: ProjectLike, name: str, limit: int = 50) -> list[CheckRun]:
    """The latest ``limit`` check results of asset ``name``, newest first."""
    import sqlalchemy as sa

    from headwater.metastore import tables as t

    proj = as_project(project)
    c = t.check_results.c
    fields = (c.run_id, c.check_name, c.check_type, c.severity, c.status, c.failing, c.total)
    query = (
        sa.select(*fields, c.message, c.at)
        .where(c.asset == name)
        .order_by(c.at.desc(), c.check_name)
        .limit(limit)
    )
    with metastore(proj) as store, store.engine.connect() as conn:
        return [CheckRun(*row) for row in conn.execute(query)]


def _code(node: Asset) -> tuple[str | None, str | None]:
    if node.sql is not None:
        return "sql", node.sql
    if node.function is not None:
        try:
            return "python", inspect.getsource(node.function)
        except (OSError, TypeError):  # no source on disk (a module built at runtime)
            return "python", None
    return None, None


def _location(project: Project, node: Asset) -> str:
    if node.path is None:
        return node.name
    try:
        path = node.path.relative_to(project.root)
    except ValueError:
        path = node.path
    return f"{path}:{node.line}"


def _loads(project: Project, node: Asset) -> list[LoadInfo]:
    if node.kind != "source" or not has_warehouse(project):
        return []
    from headwater.api.history import loads

    return loads(project, node.name, limit=20)


def _sample(project: Project, node: Asset) -> QueryResult:
    from headwater.api.history import query

    table = f'"{_ident(node.schema or "main")}"."{_ident(node.table or node.name)}"'
    return query(project, f"select * from {table} limit {SAMPLE_ROWS}")


def _ident(name: str) -> str:
    return name.replace('"', '""')


def _partitions(project: Project, node: Asset) -> list[PartitionInfo] | None:
    from headwater.models.partitions import check_partitioning

    if node.kind != "model" or check_partitioning(node) is None:
        return None
    from headwater.api.partitions import partitions

    return partitions(project, node.name)[-PARTITIONS_SHOWN:]
