"""``/quarantine``: the quarantined rows of each source asset with the checks they failed,
why, and the load that brought them (:mod:`headwater.api.quarantine_pages`), an asset's rows
a page at a time (filtered by check or load), and, for operators, release (re-validated
against the asset's checks as the project holds them now, then loaded) and discard, each
after a confirmation page: ``GET /quarantine/{asset}/confirm`` says what will happen to how
many rows and holds the form whose POST (with the session's CSRF token and ``confirm=yes``)
calls :func:`headwater.api.release` / :func:`headwater.api.discard`, the functions the CLI
and ``POST /api/quarantine/{asset}/release|discard`` call. A POST without ``confirm=yes``
only leads to the confirmation page. Viewers see the rows, no buttons, and are refused
(403) the confirmation page and the POSTs.

JSON: ``GET /api/quarantine/assets`` and ``GET /api/quarantine/{asset}/page``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from headwater import api
from headwater.api.project import source_asset
from headwater.api.quarantine_pages import PAGE_ROWS, quarantine_assets, quarantine_page
from headwater.errors import HeadwaterError
from headwater.project import Project
from headwater.ui.auth import require
from headwater.ui.render import render, url
from headwater.ui.state import state

router = APIRouter()
_viewer = [Depends(require("viewer"))]
_operator = [Depends(require("operator"))]
ACTIONS = ("release", "discard")


@router.get("/quarantine", name="quarantine", dependencies=_viewer, include_in_schema=False)
def quarantine_view(
    request: Request,
    asset: str = "",
    check: str = "",
    load_id: str = "",
    offset: int = 0,
    released: int | None = None,
    remaining: int | None = None,
    discarded: int | None = None,
) -> Response:
    """Every asset's quarantine; with ``asset``, a page of its rows (``check`` /
    ``load_id`` filter them); ``released``/``remaining``/``discarded``: what the action
    just done did (said at the top)."""
    project = state(request).project  # reading: the server's project (opened once)
    problem, page = "", None
    assets = quarantine_assets(project)
    if asset:
        try:
            page = quarantine_page(
                project, asset, check=check or None, load_id=load_id or None, offset=offset
            )
        except HeadwaterError as exc:
            problem = str(exc)
    return render(
        request,
        "quarantine.html",
        title="Quarantine",
        assets=assets,
        chosen=asset,
        page=page,
        problem=problem,
        done={"released": released, "remaining": remaining, "discarded": discarded},
        page_rows=PAGE_ROWS,
    )


@router.get(
    "/quarantine/{asset}/confirm",
    name="quarantine_confirm",
    dependencies=_operator,
    include_in_schema=False,
)
def confirm(
    request: Request, asset: str, action: str = "release", check: str = "", load_id: str = ""
) -> Response:
    """What ``action`` (release or discard) would do to which rows, and its form."""
    if action not in ACTIONS:
        action = "release"
    found = quarantine_page(
        _current(request), asset, check=check or None, load_id=load_id or None, limit=5
    )
    return render(
        request,
        "quarantine_confirm.html",
        title=f"{action.capitalize()} quarantined rows",
        action=action,
        page=found,
    )


@router.post(
    "/quarantine/{asset}/release",
    name="quarantine_release",
    dependencies=_operator,
    include_in_schema=False,
)
def release(
    request: Request,
    asset: str,
    check: str = Form(""),
    load_id: str = Form(""),
    confirm: str = Form(""),
) -> Response:
    """Release the selected rows (confirmed), then back to the asset's quarantine."""
    if confirm != "yes":
        return _to_confirm(request, asset, "release", check, load_id)
    done = api.release(_current(request), asset, check=check or None, load_id=load_id or None)
    back = url(
        request, "quarantine", asset=done.asset, released=done.released, remaining=done.remaining
    )
    return RedirectResponse(back, status_code=303)


@router.post(
    "/quarantine/{asset}/discard",
    name="quarantine_discard",
    dependencies=_operator,
    include_in_schema=False,
)
def discard(
    request: Request,
    asset: str,
    check: str = Form(""),
    load_id: str = Form(""),
    confirm: str = Form(""),
) -> Response:
    """Discard the selected rows for good (confirmed), then back to the quarantine."""
    if confirm != "yes":
        return _to_confirm(request, asset, "discard", check, load_id)
    project = _current(request)
    n = api.discard(project, asset, check=check or None, load_id=load_id or None)
    name = source_asset(project, asset).name
    return RedirectResponse(url(request, "quarantine", asset=name, discarded=n), status_code=303)


@router.get("/api/quarantine/assets", name="api_quarantine_assets", dependencies=_viewer)
def assets_json(request: Request) -> list[dict[str, Any]]:
    """Each quarantine table holding rows: ``asset`` (its source; null when none owns it
    now), ``table``, ``rows``, ``last_at``, ``checks`` and its ``groups`` (checks, reason,
    rows, loads); most rows first."""
    return [a.to_json() for a in quarantine_assets(state(request).project)]


@router.get("/api/quarantine/{asset}/page", name="api_quarantine_page", dependencies=_viewer)
def page_json(
    request: Request,
    asset: str,
    check: str | None = None,
    load_id: str | None = None,
    offset: int = 0,
    limit: int = PAGE_ROWS,
) -> dict[str, Any]:
    """A page of ``asset``'s quarantined rows: ``columns``, ``rows``, ``total`` (of the
    selection), ``offset``, ``limit``, ``has_more``."""
    project = state(request).project
    found = quarantine_page(
        project, asset, check=check, load_id=load_id, offset=offset, limit=limit
    )
    return found.to_json()


def _current(request: Request) -> Project:
    """The project as its folder holds it now: a release re-validates against the checks
    as they are, as the CLI's does (server/http.py reads it so too)."""
    return api.open_project(state(request).project.root)


def _to_confirm(request: Request, asset: str, action: str, check: str, load_id: str) -> Response:
    target = url(
        request,
        "quarantine_confirm",
        asset=asset,
        action=action,
        check=check or None,
        load_id=load_id or None,
    )
    return RedirectResponse(target, status_code=303)
