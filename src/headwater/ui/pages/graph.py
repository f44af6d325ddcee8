"""``/graph``: the whole project graph on a canvas, and its JSON (``GET /api/graph``).

The page is a shell; ``ui/static/js/graph.js`` fetches ``/api/graph`` (the layout computed
in Python by :func:`headwater.api.graph_layout.graph_drawing`, cached per graph digest, with
each asset's latest status) and draws it: pan, zoom, search, select to highlight upstream
and downstream, a link to each asset's page. ``?focus=NAME`` opens centred on an asset.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from headwater.api.graph_layout import graph_drawing
from headwater.ui.auth import require
from headwater.ui.render import render
from headwater.ui.state import state

router = APIRouter()
_viewer = [Depends(require("viewer"))]


@router.get("/graph", name="graph", dependencies=_viewer, include_in_schema=False)
def graph_page(request: Request, focus: str = "") -> Response:
    """The graph page (drawn in the browser from :func:`graph_json`)."""
    project = state(request).project
    names = sorted(a.name for a in project.graph)
    return render(request, "graph.html", title="Graph", names=names, focus=focus)


@router.get("/api/graph", name="api_graph", dependencies=_viewer)
def graph_json(request: Request) -> Response:
    """Every asset's box (``x``, ``y``: top left; all ``box.w`` x ``box.h``), kind, rank and
    latest status (null: never run), and the edges as ``[upstream, downstream]`` indexes
    into ``nodes``."""
    # written here, not by FastAPI's encoder: it walks every value again (2,000 nodes)
    body = json.dumps(graph_drawing(state(request).project).to_json(), separators=(",", ":"))
    return Response(body, media_type="application/json")
