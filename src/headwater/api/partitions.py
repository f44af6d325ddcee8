"""Which grain units of a partitioned model are built, failed or missing
(``headwater partitions ASSET``).

A unit's status is the last build's, from the metastore (``asset_partitions``): ``built`` or
``failed``; a unit of the range with no row is ``missing``. Units are counted in the zone of
the first scheduled pipeline that selects the asset (UTC when none does), so a day in
Europe/Berlin is local midnight to local midnight. Without ``start``/``end`` the range runs
from the first recorded unit to the end of the last one (the holes between are missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from headwater.api.project import ProjectLike, as_project, metastore, selection
from headwater.config.schedule import as_instant
from headwater.errors import ProjectError, UnknownAssetError
from headwater.models.partitions import check_partitioning, grain_units, zone_of
from headwater.project import Project

__all__ = ["PartitionInfo", "partitions"]


@dataclass(frozen=True)
class PartitionInfo:
    """One grain unit ``[start, end)`` of a partitioned asset and its status."""

    start: datetime
    end: datetime
    status: str  # built | failed | missing
    run_id: str | None
    built_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "status": self.status,
            "run_id": self.run_id,
            "built_at": self.built_at.isoformat() if self.built_at else None,
        }


def partitions(
    project: ProjectLike,
    asset: str,
    start: str | datetime | None = None,
    end: str | datetime | None = None,
) -> list[PartitionInfo]:
    """The units of partitioned model ``asset`` in ``[start, end)`` with their status, by
    start. UnknownAssetError for an unknown asset, ProjectError for one not partitioned or
    a bad date."""
    proj = as_project(project)
    matches = [a for a in proj.graph if asset in (a.name, a.short_name)]
    if not matches:
        raise UnknownAssetError(f"no asset {asset!r} (see `headwater graph`)")
    node = matches[0]
    found = check_partitioning(node)
    if found is None:
        raise ProjectError(f"{node.name} is not partitioned (set partition_by and grain)")
    grain, tz = found[1], _zone(proj, node.name)
    try:
        lower = as_instant(start, tz) if start is not None else None
        upper = as_instant(end, tz) if end is not None else None
    except ValueError as exc:
        raise ProjectError(f"partitions {node.name}: {exc}") from None
    with metastore(proj) as store:
        rows = store.partitions(node.name, lower, upper)
    if lower is None or upper is None:
        if not rows:
            return []
        lower = lower or rows[0].partition_start
        upper = upper or rows[-1].partition_end
    recorded = {r.partition_start: r for r in rows}
    out = []
    for unit_start, unit_end in grain_units(lower, upper, grain, tz):
        rec = recorded.get(unit_start)
        out.append(
            PartitionInfo(unit_start, unit_end, "missing", None, None)
            if rec is None
            else PartitionInfo(unit_start, unit_end, rec.status, rec.run_id, rec.built_at)
        )
    return out


def _zone(project: Project, asset: str) -> tzinfo:
    """The zone of the first scheduled pipeline selecting ``asset``; UTC otherwise."""
    for name, pipe in project.settings.pipelines.items():
        if pipe.schedule is None and pipe.every is None:
            continue
        if asset in selection(project, None, None, name).names:
            return zone_of(pipe.timezone)
    return zone_of(None)
