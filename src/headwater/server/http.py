"""The server's HTTP API (FastAPI: OpenAPI at ``/openapi.json``): JSON in, the API
records' ``to_json()`` out. Every endpoint but ``GET /api/health`` requires credentials
(``Authorization: Bearer <token>`` or a session; 401 otherwise). A :class:`HeadwaterError` becomes
``{"error": message, "exit_code": n}`` with 404 (no such run or asset), 409 (the warehouse
is busy, the run is no longer queued, the server is stopping) or 400 (anything else the
caller can fix); any other exception a 500 with the exception's type only: never a
traceback. Who may call what: :mod:`headwater.ui.auth` (the server.json token acts as admin,
a user's API token or browser session with the user's role; GET needs viewer, what runs or
changes something operator; a session's POST also its CSRF token); the web UI's pages are
mounted by :func:`headwater.ui.mount`. Endpoints are plain functions: FastAPI runs them on
its thread pool, each thread with its own warehouse cursor.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Any

from fastapi import Body, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from headwater import api
from headwater.api.records import plain
from headwater.engines import capabilities_of
from headwater.errors import HeadwaterError, UnknownAssetError, WarehouseBusy
from headwater.project import Project
from headwater.runtime.engine_support import refuse_unsupported
from headwater.scheduling import Interval
from headwater.server.cache import ResponseCache
from headwater.server.generation import Generation
from headwater.server.runs import RunQueue, RunRequest
from headwater.ui import mount as mount_ui
from headwater.ui.auth import (
    SAFE_METHODS,
    is_api,
    principal,
    refuse_anonymous,
    require,
    route_path,
)
from headwater.ui.auth_cache import forget_all
from headwater.ui.render import error_page

_log = logging.getLogger("headwater.server")
VIEWER = [Depends(require("viewer"))]
OPERATOR = [Depends(require("operator"))]


class RunBody(BaseModel):
    """``POST /api/runs``: as ``headwater run``'s options."""

    select: list[str] = []
    exclude: list[str] = []
    pipeline: str | None = None
    full_refresh: bool = False
    interval_start: datetime | None = None  # the run's data interval (both or neither)
    interval_end: datetime | None = None
    run_group: str | None = None  # the outside run this one is a step of


class SelectBody(BaseModel):
    """``POST /api/check``: the assets whose checks run (all by default)."""

    select: list[str] = []
    exclude: list[str] = []


class QuarantineBody(BaseModel):
    """``POST /api/quarantine/{asset}/release|discard``: as ``headwater quarantine``'s
    options (``force``: release without re-validating; ignored by discard)."""

    check: str | None = None
    load_id: str | None = None
    force: bool = False


class BackfillBody(BaseModel):
    """``POST /api/pipelines/{name}/backfill``: as ``headwater backfill``'s options."""

    start: str
    end: str
    reprocess: str = "missing"
    single_run: bool = False


class QueryBody(BaseModel):
    """``POST /api/query``: one SQL statement, at most ``limit`` rows."""

    sql: str
    limit: int | None = None


def _limit(limit: int) -> int:
    """A count of runs or rows asked in a query string, 0 or more: a negative one reached the
    metastore or DuckDB, which failed on it (a 500, found by schemathesis)."""
    if limit < 0:
        raise HeadwaterError("limit must be at least 0")
    return limit


def create_app(project: Project, runs: RunQueue, token: str) -> FastAPI:
    """The HTTP API of a server holding ``project`` and its run queue ``runs``."""
    app = FastAPI(title="Headwater server", version="1")
    # a warehouse only this server writes (DuckDB's file) is watched; another is not
    alone = capabilities_of(project.settings.project.engine).exclusive_process
    cache = ResponseCache(
        Generation(project.metastore_url, project.warehouse_path if alone else None)
    )
    app.state.response_cache = cache

    @app.middleware("http")
    async def require_credentials(request: Request, call_next: Any) -> Any:
        # a safety net under each route's require(role): without valid credentials only
        # health, the login page and static files answer (401, or a redirect to log in)
        refused = refuse_anonymous(request)
        if refused is not None:
            return refused
        who = principal(request)  # None on an open path (health, login): never cached
        # the read endpoints' answers kept as bytes while the data is unchanged (cache.py)
        role = "" if who is None else who.role
        try:
            return await cache.serve(request, role, route_path(request), call_next)
        finally:
            if request.method not in SAFE_METHODS:  # it may have revoked or logged out
                forget_all(app)

    @app.exception_handler(HeadwaterError)
    async def headwater_error(request: Request, exc: HeadwaterError) -> Response:
        if not is_api(request):  # a page: the same one line, as a page
            return error_page(request, str(exc), _http_status(exc))
        return _error(str(exc), exc.exit_code, _http_status(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        _log.error("%s %s: %s", request.method, request.url.path, type(exc).__name__)
        if not is_api(request):
            return error_page(request, f"internal error: {type(exc).__name__}", 500)
        return _error(f"internal error: {type(exc).__name__}", 1, 500)

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "pid": os.getpid(), "project": project.name}

    @app.get("/api/runs", dependencies=VIEWER)
    def list_runs(limit: int = 20) -> list[dict[str, Any]]:
        return [r.to_json() for r in api.runs(project, _limit(limit))]

    @app.post("/api/runs", status_code=202, dependencies=OPERATOR)
    def enqueue(body: RunBody) -> dict[str, Any]:
        # a bad selector or pipeline, or a feature the engine lacks, is refused now, not by a
        # run failing later
        chosen = api.selection(project, body.select, body.exclude, body.pipeline)
        refuse_unsupported(project, chosen.names)
        request = RunRequest(body.select, body.exclude, body.pipeline, body.full_refresh)
        request.run_group = body.run_group
        if body.interval_start is not None and body.interval_end is not None:
            request.interval = Interval(body.interval_start, body.interval_end)
        return {"run_id": runs.submit(request), "status": "queued"}

    @app.post("/api/pipelines/{name}/trigger", status_code=202, dependencies=OPERATOR)
    def trigger(name: str) -> dict[str, Any]:
        # run the pipeline now, outside its schedule: an unknown one is refused at once
        from headwater.api.triggers import MANUAL, pipeline_of

        pipeline_of(project, name)
        refuse_unsupported(project, api.selection(project, pipeline=name).names)
        run_id = runs.submit(RunRequest(pipeline=name, trigger=MANUAL))
        return {"run_id": run_id, "status": "queued"}

    @app.post("/api/pipelines/{name}/backfill", status_code=202, dependencies=OPERATOR)
    def backfill(name: str, body: BackfillBody) -> dict[str, Any]:
        # the ledger's intervals of the range: the scheduler runs them; --single-run: one
        # run over the range, queued now, whose end finishes them (api.backfill)
        from headwater.api.backfill import finish_single_run, plan_backfill, plan_single_run

        if not body.single_run:
            todo = plan_backfill(project, name, body.start, body.end, reprocess=body.reprocess)
            return {"run_id": None, "intervals": len(todo)}
        plan = plan_single_run(project, name, body.start, body.end, reprocess=body.reprocess)
        if plan is None:
            return {"run_id": None, "intervals": 0}

        def done(run_id: str, status: str) -> None:
            finish_single_run(project, plan, status)

        request = RunRequest(pipeline=name, trigger="backfill", interval=plan.interval)
        request.on_done = done
        try:
            runs.submit(request, plan.run_id)
        except HeadwaterError:  # stopping: the intervals wait for the next server
            finish_single_run(project, plan, "interrupted")
            raise
        return {"run_id": plan.run_id, "intervals": len(plan.claimed)}

    @app.get("/api/runs/{run_id}", dependencies=VIEWER, response_model=dict[str, Any])
    def show(run_id: str) -> Response:
        # each step's error whole (the metastore keeps 1 KB of it; the step's log all).
        # Already JSON's types: FastAPI's encoder walk is skipped (about 1 s of the server's
        # CPU for 10,000 steps, taken from the run's workers each time a client follows)
        from headwater.api.run_detail import run_detail

        return JSONResponse(run_detail(project, run_id).to_json())

    @app.post("/api/runs/{run_id}/retry", status_code=202, dependencies=OPERATOR)
    def retry(run_id: str) -> dict[str, Any]:
        # queued like any run: rerun what did not succeed in run_id (headwater retry)
        from headwater.api.run_detail import retry_steps

        found = api.show(project, run_id).run  # 404 for an unknown run
        if found.status in ("queued", "running"):
            raise _Conflict(f"run {found.run_id} is {found.status}: retry it once it is over")
        if not retry_steps(project, found.run_id):
            raise _Conflict(f"run {found.run_id}: every step succeeded, nothing to retry")
        request = RunRequest(pipeline=found.pipeline, trigger="retry", retry_of=found.run_id)
        return {"run_id": runs.submit(request), "status": "queued", "retry_of": found.run_id}

    @app.post("/api/runs/{run_id}/cancel", dependencies=OPERATOR)
    def cancel(run_id: str) -> dict[str, Any]:
        found = api.show(project, run_id).run  # 404 for an unknown run
        if not runs.cancel(found.run_id):
            raise _Conflict(f"run {found.run_id} is {found.status}: neither queued nor running")
        return {"run_id": found.run_id, "cancelled": True}

    # columns and rows, not QueryResult.to_json()'s objects: the columns' order and names
    # survive an empty answer (the CLI prints them)
    @app.get("/api/query", dependencies=VIEWER)
    def query_get(sql: str, limit: int | None = None) -> dict[str, Any]:
        return _rows(api.query(project, sql, limit))

    @app.post("/api/query", dependencies=VIEWER)  # read-only: a viewer may
    def query_post(body: QueryBody) -> dict[str, Any]:
        return _rows(api.query(project, body.sql, body.limit))

    @app.get("/api/syncs/{name}/plan", dependencies=VIEWER)
    def sync_plan(name: str, sample: int = 5) -> dict[str, Any]:
        # a dry run: reads the warehouse only, never the target (headwater sync --dry-run)
        from headwater.api.syncs import sync_plan

        return sync_plan(project, name, sample=sample).to_json()

    @app.get("/api/syncs/{name}/history", dependencies=VIEWER)
    def sync_history(name: str, limit: int = 20) -> list[dict[str, Any]]:
        from headwater.api.syncs import sync_history

        return [r.to_json() for r in sync_history(project, name, limit)]

    @app.get("/api/read/{asset}", dependencies=VIEWER)
    def read(
        asset: str, columns: str | None = None, where: str | None = None, limit: int | None = None
    ) -> Response:
        # headwater.read() through the server: the asset as an Arrow IPC stream, written
        # batch by batch (a JSON answer would be several times larger and typeless)
        from fastapi.responses import StreamingResponse

        from headwater.api.read import ARROW_STREAM, ipc_chunks, read_stream

        cols = [c for c in columns.split(",") if c] if columns else None
        stream = read_stream(project, asset, columns=cols, where=where, limit=limit)
        return StreamingResponse(ipc_chunks(stream), media_type=ARROW_STREAM)

    @app.get("/api/streams", dependencies=VIEWER)
    def streams() -> list[dict[str, Any]]:
        # continuous Kafka sources: state, lag, last micro-batch (server/streams.py)
        from headwater.server.streams import streams_status

        return streams_status(project)

    @app.get("/api/loads", dependencies=VIEWER)
    def loads(asset: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        return [ld.to_json() for ld in api.loads(project, asset, _limit(limit))]

    # checks and quarantine read the project as it is on disk now, as the CLI does
    # in-process: a check edited since the server started counts (a release re-validates
    # against it); the warehouse is still the server's (api.shared_warehouse)
    @app.post("/api/check", dependencies=OPERATOR)
    def check(body: SelectBody = Body(default_factory=SelectBody)) -> dict[str, Any]:
        return api.check(_current(project), body.select or None, body.exclude).to_json()

    # named apart from the web UI's /quarantine page, which url("quarantine") must find
    @app.get("/api/quarantine", name="api_quarantine", dependencies=VIEWER)
    def quarantine(asset: str | None = None) -> dict[str, Any]:
        return api.quarantine(_current(project), asset).to_json()

    @app.get("/api/quarantine/{asset}/rows", dependencies=VIEWER)
    def quarantined_rows(
        asset: str, check: str | None = None, load_id: str | None = None, limit: int = 50
    ) -> dict[str, Any]:
        found = api.quarantined_rows(
            _current(project), asset, check=check, load_id=load_id, limit=_limit(limit)
        )
        return _rows(found)

    @app.post("/api/quarantine/{asset}/release", dependencies=OPERATOR)
    def release(asset: str, body: QuarantineBody) -> dict[str, Any]:
        return api.release(
            _current(project), asset, check=body.check, load_id=body.load_id, force=body.force
        ).to_json()

    @app.post("/api/quarantine/{asset}/discard", dependencies=OPERATOR)
    def discard(asset: str, body: QuarantineBody) -> dict[str, Any]:
        n = api.discard(_current(project), asset, check=body.check, load_id=body.load_id)
        return {"asset": asset, "discarded": n}

    mount_ui(app, project, token, runs)
    return app


def _current(project: Project) -> Project:
    """The project as its folder holds it now (ProjectError when it no longer loads)."""
    return api.open_project(project.root)


def _rows(found: api.QueryResult) -> dict[str, Any]:
    return {"columns": found.columns, "rows": plain(found.rows)}


class _Conflict(HeadwaterError):
    """The request cannot be done in the run's state (HTTP 409)."""


def _http_status(exc: HeadwaterError) -> int:
    if isinstance(exc, UnknownAssetError) or str(exc).startswith("no run "):
        return 404
    if isinstance(exc, WarehouseBusy | _Conflict) or "stopping" in str(exc):
        return 409
    return 400


def _error(message: str, exit_code: int, status: int) -> JSONResponse:
    return JSONResponse({"error": message, "exit_code": exit_code}, status_code=status)
