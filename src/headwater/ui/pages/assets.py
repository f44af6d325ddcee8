"""``/assets/{asset}``: one asset's page, and its JSON (``GET /api/assets/{asset}``,
``GET /api/assets/{asset}/lineage``).

Everything shown comes from :func:`headwater.api.assets.asset_detail` (the JSON endpoint
returns that record's ``to_json()``): schema with types and column lineage, the SQL or
Python source, upstream and downstream links, row count and build time charts (uPlot,
vendored under ``ui/static/vendor``), check history, loads, a sample of rows, and a
partitioned model's grain units. Viewers may read all of it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from headwater.api.assets import AssetDetail, asset_detail
from headwater.api.lineage import asset_of, column_lineage
from headwater.errors import UnknownAssetError
from headwater.ui.auth import require
from headwater.ui.render import has_route, render
from headwater.ui.state import state

router = APIRouter()
_viewer = [Depends(require("viewer"))]


@router.get("/assets/{asset}", name="asset", dependencies=_viewer, include_in_schema=False)
def asset_page(request: Request, asset: str) -> Response:
    """The asset page (an unknown asset: the error page, 404)."""
    try:
        detail = asset_detail(state(request).project, asset)
    except UnknownAssetError as exc:
        return render(
            request, "error.html", status_code=404, title="No such asset", message=str(exc)
        )
    return render(
        request,
        "asset.html",
        title=detail.name,
        asset=detail,
        latest=detail.builds[0].status if detail.builds else None,
        chart=_chart_data(detail),
        partition_counts=_partition_counts(detail),
        run_links=has_route(request, "run"),
        graph_link=has_route(request, "graph"),
    )


@router.get("/api/assets/{asset}", name="api_asset", dependencies=_viewer)
def asset_json(request: Request, asset: str) -> dict[str, Any]:
    """Everything the asset page shows, as JSON (404 for an unknown asset)."""
    return asset_detail(state(request).project, asset).to_json()


@router.get("/api/assets/{asset}/lineage", name="api_asset_lineage", dependencies=_viewer)
def lineage_json(request: Request, asset: str) -> dict[str, Any]:
    """The asset's columns, types and, for each, the upstream columns feeding it
    (``inputs``: [] from no column, null when sqlglot cannot tell)."""
    project = state(request).project
    name = asset_of(project, asset).name
    return {"asset": name, "columns": [c.to_json() for c in column_lineage(project, name)]}


def _chart_data(detail: AssetDetail) -> dict[str, list[Any]]:
    """The builds, oldest first, as the charts' series: unix seconds, rows, seconds."""
    done = [b for b in reversed(detail.builds) if b.started_at is not None]
    return {
        "t": [b.started_at.timestamp() for b in done if b.started_at is not None],
        "rows": [b.rows_out for b in done],
        "seconds": [b.seconds for b in done],
    }


def _partition_counts(detail: AssetDetail) -> dict[str, int] | None:
    if detail.partitions is None:
        return None
    counts = {"built": 0, "failed": 0, "missing": 0}
    for unit in detail.partitions:
        counts[unit.status] = counts.get(unit.status, 0) + 1
    return counts
