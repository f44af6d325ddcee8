"""Quarantine as the web UI's quarantine page shows it (and ``GET /api/quarantine/assets``,
``GET /api/quarantine/{asset}/page`` return): what each source asset holds in quarantine
(:func:`quarantine_assets`) and one page of an asset's quarantined rows with how many the
selection holds (:func:`quarantine_page`). Releasing and discarding are
:func:`headwater.api.release` and :func:`headwater.api.discard`, as for the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from headwater.api.project import ProjectLike, as_project, source_asset
from headwater.api.quarantines import _engine, quarantine
from headwater.api.records import QuarantineGroupInfo, plain

PAGE_ROWS = 50


@dataclass(frozen=True)
class QuarantinedAsset:
    """A source asset's quarantined rows: ``asset`` (None when no source of the project
    now owns ``quarantine.<table>``: it was removed or renamed), its groups by failed
    checks and reason, the total ``rows`` and the newest ``last_at``."""

    asset: str | None
    table: str
    groups: list[QuarantineGroupInfo]
    rows: int
    last_at: datetime | None

    @property
    def checks(self) -> list[str]:
        """Each check the rows failed, once, sorted."""
        return sorted({c for g in self.groups for c in g.checks.split(",") if c})

    def to_json(self) -> dict[str, Any]:
        return plain(
            {
                "asset": self.asset,
                "table": self.table,
                "rows": self.rows,
                "last_at": self.last_at.isoformat() if self.last_at else None,
                "checks": self.checks,
                "groups": [
                    {"checks": g.checks, "reason": g.reason, "rows": g.rows, "loads": g.loads}
                    for g in self.groups
                ],
            }
        )


def quarantine_assets(project: ProjectLike) -> list[QuarantinedAsset]:
    """Every quarantine table holding rows, with its source asset, most rows first."""
    from headwater.quality.quarantine import table_name

    proj = as_project(project)
    owners = {f"quarantine.{table_name(a.name)}": a.name for a in proj.graph if a.kind == "source"}
    tables: dict[str, list[QuarantineGroupInfo]] = {}
    for group in quarantine(proj).quarantined:
        tables.setdefault(group.table, []).append(group)
    found = [
        QuarantinedAsset(
            owners.get(table),
            table,
            groups,
            sum(g.rows for g in groups),
            max((g.last_at for g in groups if g.last_at), default=None),
        )
        for table, groups in tables.items()
    ]
    return sorted(found, key=lambda a: (-a.rows, a.table))


@dataclass(frozen=True)
class QuarantinePage:
    """Rows ``offset`` .. ``offset + len(rows)`` of the ``total`` quarantined rows of
    ``asset`` selected by ``check`` / ``load_id`` (None: all), newest first; ``columns``
    as :func:`headwater.api.quarantined_rows` gives them (check, reason, load_id,
    quarantined_at, then the row's own)."""

    asset: str
    check: str | None
    load_id: str | None
    offset: int
    limit: int
    total: int
    columns: list[str]
    rows: list[tuple[Any, ...]]

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.rows) < self.total

    def to_json(self) -> dict[str, Any]:
        return plain(
            {
                "asset": self.asset,
                "check": self.check,
                "load_id": self.load_id,
                "offset": self.offset,
                "limit": self.limit,
                "total": self.total,
                "has_more": self.has_more,
                "columns": self.columns,
                "rows": self.rows,
            }
        )


def quarantine_page(
    project: ProjectLike,
    asset: str,
    *,
    check: str | None = None,
    load_id: str | None = None,
    offset: int = 0,
    limit: int = PAGE_ROWS,
) -> QuarantinePage:
    """A page of ``asset``'s quarantined rows (those of ``check`` / ``load_id``) and how
    many there are. UnknownAssetError when ``asset`` is no source; EngineError."""
    from headwater.quality.rows import count_quarantined, quarantined_rows

    proj = as_project(project)
    name = source_asset(proj, asset).name
    offset, limit = max(offset, 0), min(max(limit, 1), 1000)
    with _engine(proj) as engine:
        cur = engine.cursor()
        total = count_quarantined(cur, name, check=check, load_id=load_id)
        columns, rows = quarantined_rows(
            cur, name, check=check, load_id=load_id, limit=limit, offset=offset
        )
    return QuarantinePage(name, check, load_id, offset, limit, total, columns, rows)
