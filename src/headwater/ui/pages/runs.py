"""``/runs`` (the runs grid) and ``/runs/{run_id}`` (one run: a Gantt timeline of its
steps, their status, attempts, rows, durations and whole errors, a step's log live), with
their JSON: ``GET /api/grid``, ``GET /api/runs/{id}/steps/{step}/log`` and its server-sent
events ``.../log/stream``. ``GET /api/runs/{id}`` (the run's detail) and the buttons' POSTs
(trigger, retry, cancel) are the JSON API's (``server/http.py``): the page's script calls
them with the session's CSRF token; a viewer sees no buttons and is refused (403).

The grid page embeds its data as compact JSON (``GridPage.to_json``) that
``ui/static/js/runs_grid.js`` draws on a canvas: 1,000 runs x 100 steps is 100,000 cells,
too many DOM nodes to scroll smoothly and most of a second to render server-side as HTML.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from headwater.api.grid import DEFAULT_PAGE, GridPage, grid, pipelines
from headwater.api.run_detail import FINAL_RUN, retry_steps, run_detail, step_log
from headwater.errors import HeadwaterError
from headwater.metastore import RUN_STATUSES
from headwater.ui.auth import require
from headwater.ui.pages.runs_gantt import gantt_bars
from headwater.ui.render import render
from headwater.ui.state import state

router = APIRouter()
_viewer = [Depends(require("viewer"))]
POLL_S = 0.5  # how often a log stream looks for new lines and for its step's end


@router.get("/runs", name="runs", dependencies=_viewer, include_in_schema=False)
def runs_page(
    request: Request,
    pipeline: str = "",
    status: str = "",
    since: str = "",
    until: str = "",
    limit: int = DEFAULT_PAGE,
    offset: int = 0,
) -> Response:
    """The grid: filters (a bad one is said on the page, the grid unfiltered by it), the
    page's runs drawn from the embedded JSON, links to older and newer pages."""
    project = state(request).project
    problem = ""
    try:
        found = _page(request, pipeline, status, since, until, limit, offset)
    except HeadwaterError as exc:
        problem = str(exc)
        found = grid(project, limit=DEFAULT_PAGE)
    return render(
        request,
        "runs_grid.html",
        title="Runs",
        page=found,
        data=found.to_json(),
        problem=problem,
        pipelines=pipelines(project),
        statuses=sorted(RUN_STATUSES),
        chosen={"pipeline": pipeline, "status": status, "since": since, "until": until},
    )


@router.get("/api/grid", name="api_grid", dependencies=_viewer)
def grid_json(
    request: Request,
    pipeline: str = "",
    status: str = "",
    since: str = "",
    until: str = "",
    limit: int = DEFAULT_PAGE,
    offset: int = 0,
) -> Response:
    """The runs grid's page as JSON: ``runs`` (newest first), ``steps``, ``cells`` (per run,
    per step ``[status, attempts, seconds]`` or null), ``total``, ``offset``, ``limit``,
    ``has_more``. Dates are ``YYYY-MM-DD`` (UTC days, both included)."""
    found = _page(request, pipeline, status, since, until, limit, offset).to_json()
    # serialised here: FastAPI's jsonable_encoder walks 100,000 cells one by one (seconds)
    return Response(json.dumps(found, separators=(",", ":")), media_type="application/json")


@router.get("/runs/{run_id}", name="run", dependencies=_viewer, include_in_schema=False)
def run_page(request: Request, run_id: str) -> Response:
    """One run: its facts, a Gantt of its steps, the steps' table with whole errors, the
    operator's buttons, and a log panel (filled live by ``runs_detail.js``)."""
    project = state(request).project
    detail = run_detail(project, run_id)
    over = detail.run.status in FINAL_RUN
    retryable = over and detail.run.kind != "check" and bool(retry_steps(project, run_id))
    return render(
        request,
        "run_detail.html",
        title=f"Run {detail.run.run_id}",
        detail=detail,
        bars=gantt_bars(detail),
        over=over,
        retryable=retryable,
    )


@router.get("/api/runs/{run_id}/steps/{step}/log", name="api_step_log", dependencies=_viewer)
def step_log_json(request: Request, run_id: str, step: str, offset: int = 0) -> dict[str, Any]:
    """A step's log from byte ``offset`` (whole lines, redacted): ``text``,
    ``next_offset`` (ask again from there), ``done`` (nothing more will come)."""
    return step_log(state(request).project, run_id, step, offset).to_json()


@router.get(
    "/api/runs/{run_id}/steps/{step}/log/stream",
    name="api_step_log_stream",
    dependencies=_viewer,
    response_class=StreamingResponse,
)
async def step_log_stream(request: Request, run_id: str, step: str) -> StreamingResponse:
    """Server-sent events (``text/event-stream``): the step's log so far, one ``data:``
    event per line, then each new line as the step writes it; an ``end`` event (its data:
    the step's status) once the step is over, and the stream closes. 404 for an unknown
    run or step (checked before the stream starts)."""
    project = state(request).project
    first = await run_in_threadpool(step_log, project, run_id, step, 0)
    return StreamingResponse(
        _events(request, first),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(request: Request, log: Any) -> AsyncIterator[str]:
    project = state(request).project
    while True:
        for line in log.text.splitlines():
            yield f"data: {line}\n\n"
        if log.done:
            yield f"event: end\ndata: {log.status}\n\n"
            return
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_S)
        log = await run_in_threadpool(step_log, project, log.run_id, log.step, log.next_offset)


def _page(
    request: Request, pipeline: str, status: str, since: str, until: str, limit: int, offset: int
) -> GridPage:
    return grid(
        state(request).project,
        pipeline=pipeline or None,
        status=status or None,
        since=_day(since, "from"),
        until=_day(until, "to"),
        limit=limit,
        offset=offset,
    )


def _day(text: str, what: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HeadwaterError(f"{what} date {text!r} is not YYYY-MM-DD") from None
