"""``/``: the overview page, and ``GET /api/overview``: the same data as JSON
(:func:`headwater.api.overview.overview`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from headwater.api.overview import overview
from headwater.ui.auth import require
from headwater.ui.render import has_route, render
from headwater.ui.state import state

router = APIRouter()
VIEWER = [Depends(require("viewer"))]


@router.get("/", name="overview", dependencies=VIEWER, include_in_schema=False)
def overview_page(request: Request) -> HTMLResponse:
    """Pipelines with schedule, next run, last runs, freshness; failing checks; quarantine."""
    found = overview(state(request).project)
    return render(
        request,
        "overview.html",
        title="Overview",
        o=found,
        run_link=has_route(request, "run"),  # the run detail page (ui/pages/runs.py)
        quarantine_link=has_route(request, "quarantine"),
        quarantined_rows=sum(q.rows for q in found.quarantined),
    )


@router.get("/api/overview", dependencies=VIEWER)
def overview_json(request: Request) -> dict[str, Any]:
    """The overview page's data."""
    return overview(state(request).project).to_json()
