"""Syncs (reverse ETL, :mod:`headwater.syncs`): what one would change, and their history.
Running one is a run of its step (``api.run(project, select=["sync.NAME"])``).

:func:`sync_plan` reads the warehouse only (read-only, or a server's shared engine in a
transaction rolled back) and never connects to the target: a dry run changes nothing.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from headwater.api.project import ProjectLike, as_project, engine_for
from headwater.api.records import plain
from headwater.errors import UnknownAssetError
from headwater.project import Project
from headwater.project.asset import Asset


@dataclass(frozen=True)
class SyncPreview:
    """``headwater sync NAME --dry-run``: the rows of the model compared, how many would be
    inserted, updated and deleted in ``table`` of ``connection``, and a few of each."""

    sync: str
    model: str
    connection: str
    table: str
    rows: int
    inserts: int
    updates: int
    deletes: int
    sample: dict[str, list[dict[str, Any]]]

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "sample"}
        out["sample"] = {op: [plain(r) for r in rows] for op, rows in self.sample.items()}
        return out


@dataclass(frozen=True)
class SyncRecord:
    """One sync that ran (a row of ``_headwater.syncs``)."""

    load_id: int
    sync: str
    run_id: str | None
    connection: str
    target: str
    rows_read: int
    inserted: int
    updated: int
    deleted: int
    synced_at: datetime

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: plain(v) for k, v in self.__dict__.items()}
        out["synced_at"] = self.synced_at.isoformat()
        return out


def sync_asset(project: Project, name: str) -> Asset:
    """The step of sync ``name`` (``x`` or ``sync.x``); UnknownAssetError naming the
    closest ones otherwise."""
    step = name if name.startswith("sync.") else f"sync.{name}"
    if step in project.graph and project.graph[step].kind == "sync":
        return project.graph[step]
    names = sorted(project.settings.syncs)
    close = difflib.get_close_matches(name.removeprefix("sync."), names, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    known = f"; syncs: {', '.join(names)}" if names and not close else ""
    raise UnknownAssetError(f"no sync {name!r} in headwater.toml{hint}{known}")


def sync_plan(project: ProjectLike, name: str, *, sample: int = 5) -> SyncPreview:
    """What ``headwater sync NAME`` would change now (its model as the warehouse holds it,
    against the state of the last sync). Raises UnknownAssetError for an unknown sync,
    ProjectError when its model is not built, WarehouseBusy while a run writes."""
    from headwater.syncs import plan_sync

    proj = as_project(project)
    asset = sync_asset(proj, name)
    with engine_for(proj) as engine:  # a server's, or opened read-only here
        plan = plan_sync(engine, asset, sample=sample)
    c = plan.counts
    return SyncPreview(
        plan.sync, plan.model, plan.connection, plan.table, c.rows, c.inserts, c.updates,
        c.deletes, plan.sample,
    )  # fmt: skip


def sync_history(
    project: ProjectLike, name: str | None = None, limit: int = 20
) -> list[SyncRecord]:
    """The last ``limit`` syncs (of sync ``name``, if given), newest first."""
    from headwater.api.history import query

    proj = as_project(project)
    if name is not None:
        name = sync_name_of(sync_asset(proj, name))
    have = query(
        proj,
        "select count(*) from information_schema.tables where table_schema = '_headwater' "
        "and table_name = 'syncs'",
    )
    if not have.rows or not have.rows[0][0]:
        return []
    where, params = ("where sync = ?", [name]) if name is not None else ("", [])
    sql = (
        "select load_id, sync, run_id, connection, target, rows_read, inserted, updated, "
        f"deleted, synced_at from _headwater.syncs {where} order by load_id desc "
        f"limit {int(limit)}"
    )
    return [SyncRecord(*row) for row in query(proj, sql, params=params).rows]


def sync_name_of(asset: Asset) -> str:
    return asset.name.removeprefix("sync.")
