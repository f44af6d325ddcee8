"""``/store``: the store case. For the ``headwater demo`` project (detected from its assets:
:func:`headwater.api.store.is_store_demo`), the demo's four answers as charts, read through
the query path (:func:`headwater.api.store.store_answers`); ``ui/static/js/store_charts.js``
draws them with the vendored uPlot and asks ``GET /api/store`` again every
:data:`REFRESH_S` seconds, redrawing when a newer run finished, so every run refreshes
them. Any other project: the page says it is for the demo project (``/api/store``: 404).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from jinja2.utils import htmlsafe_json_dumps

from headwater.api.store import is_store_demo, store_answers
from headwater.errors import HeadwaterError, UnknownAssetError
from headwater.ui.auth import require
from headwater.ui.render import render
from headwater.ui.state import state

router = APIRouter()
_viewer = [Depends(require("viewer"))]
REFRESH_S = 5


@router.get("/store", name="store", dependencies=_viewer, include_in_schema=False)
def store_page(request: Request) -> Response:
    """The four charts, or why there are none (not the demo; marts not built yet)."""
    project = state(request).project
    if not is_store_demo(project):
        return render(request, "store.html", title="Store", demo=False, answers=None, problem="")
    problem, answers = "", None
    try:
        found = store_answers(project).to_json()
        # not the template's tojson: it sorts keys, and the weekdays must stay Mon..Sun
        answers = {**found, "embedded": htmlsafe_json_dumps(found, dumps=json.dumps)}
    except HeadwaterError as exc:
        problem = str(exc).splitlines()[0]
    return render(
        request,
        "store.html",
        title="Store",
        demo=True,
        answers=answers,
        problem=problem,
        refresh_ms=REFRESH_S * 1000,
    )


@router.get("/api/store", name="api_store", dependencies=_viewer)
def store_json(request: Request) -> dict[str, Any]:
    """The demo's four answers (see :class:`headwater.api.store.StoreAnswers`); 404 when
    the project is not the store demo."""
    project = state(request).project
    if not is_store_demo(project):
        raise UnknownAssetError("this project is not the store demo (headwater demo): no answers")
    return store_answers(project).to_json()
