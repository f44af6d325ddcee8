"""``/backfill``: choose a scheduled pipeline, a range and a reprocess mode (missing, failed,
all) and start the backfill (operators; the form carries the session's CSRF token), then
watch each interval of the range go queued -> running -> success / failed.

Starting is :func:`headwater.api.backfill.plan_backfill`, as ``headwater backfill`` and
``POST /api/pipelines/{name}/backfill`` do: the range's intervals go into the ledger and
the server's scheduler claims them and runs them through its run queue, one run per
interval. The progress (:func:`headwater.api.backfill_progress.backfill_progress`) is a
fragment the page asks for again each second with htmx (``GET /backfill/progress``); once
nothing of the range is queued or running it answers 286, which stops the polling. JSON:
``GET /api/pipelines/{name}/intervals?start=&end=``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from headwater.api.backfill import plan_backfill
from headwater.api.backfill_progress import backfill_progress, scheduled_pipelines
from headwater.errors import HeadwaterError
from headwater.scheduling.backfill import REPROCESS
from headwater.ui.auth import require
from headwater.ui.render import has_route, render, url
from headwater.ui.state import state

router = APIRouter()
_viewer = [Depends(require("viewer"))]
_operator = [Depends(require("operator"))]
POLL = "1s"
STOP_POLLING = 286  # htmx: stop the hx-trigger="every ..." polling of this element


@router.get("/backfill", name="backfill", dependencies=_viewer, include_in_schema=False)
def backfill_page(
    request: Request,
    pipeline: str = "",
    start: str = "",
    end: str = "",
    reprocess: str = "missing",
    queued: int | None = None,
) -> Response:
    """The form; with ``pipeline``, ``start`` and ``end``, the range's progress (``queued``:
    how many intervals the backfill just started queued)."""
    return _page(request, pipeline, start, end, reprocess, queued=queued)


@router.post("/backfill", name="backfill_start", dependencies=_operator, include_in_schema=False)
def start_backfill(
    request: Request,
    pipeline: str = Form(...),
    start: str = Form(...),
    end: str = Form(...),
    reprocess: str = Form("missing"),
) -> Response:
    """Queue the range's intervals (as ``headwater backfill``), then show its progress; a
    bad pipeline, range or mode is said in one line on the form (400)."""
    try:
        todo = plan_backfill(state(request).project, pipeline, start, end, reprocess=reprocess)
    except HeadwaterError as exc:
        return _page(request, pipeline, start, end, reprocess, problem=str(exc), status=400)
    target = url(
        request,
        "backfill",
        pipeline=pipeline,
        start=start,
        end=end,
        reprocess=reprocess,
        queued=len(todo),
    )
    return RedirectResponse(target, status_code=303)


@router.get(
    "/backfill/progress",
    name="backfill_progress",
    dependencies=_viewer,
    include_in_schema=False,
)
def progress_fragment(request: Request, pipeline: str, start: str, end: str) -> Response:
    """The progress table alone (htmx swaps it in); 286 once the range is settled."""
    try:
        found = backfill_progress(state(request).project, pipeline, start, end)
    except HeadwaterError as exc:
        return render(request, "backfill_progress.html", progress=None, problem=str(exc))
    response = render(
        request, "backfill_progress.html", progress=found, problem="", run_links=_runs(request)
    )
    if found.done:
        response.status_code = STOP_POLLING
    return response


@router.get("/api/pipelines/{name}/intervals", name="api_backfill_progress", dependencies=_viewer)
def progress_json(request: Request, name: str, start: str, end: str) -> dict[str, Any]:
    """Each interval of pipeline ``name``'s schedule in ``[start, end)`` with its ledger
    status (``missing``: not in the ledger), run id, attempts and times; ``counts`` per
    status; ``done`` once none is queued or running."""
    return backfill_progress(state(request).project, name, start, end).to_json()


def _page(
    request: Request,
    pipeline: str,
    start: str,
    end: str,
    reprocess: str,
    *,
    queued: int | None = None,
    problem: str = "",
    status: int = 200,
) -> Response:
    project = state(request).project
    progress = None
    if pipeline and start and end and not problem:
        try:
            progress = backfill_progress(project, pipeline, start, end)
        except HeadwaterError as exc:
            problem = str(exc)
    return render(
        request,
        "backfill.html",
        status_code=status,
        title="Backfill",
        pipelines=scheduled_pipelines(project),
        modes=REPROCESS,
        chosen={"pipeline": pipeline, "start": start, "end": end, "reprocess": reprocess},
        queued=queued,
        progress=progress,
        problem=problem,
        poll=POLL,
        run_links=_runs(request),
    )


def _runs(request: Request) -> bool:
    return has_route(request, "run")
