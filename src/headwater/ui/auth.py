"""Who is asking, and may they: the authentication and role checks of every page and every
``/api`` endpoint of ``headwater server``.

A request is made by a :class:`Principal`, found (once per request, by :func:`principal`)
from, in this order:

1. ``Authorization: Bearer <token>`` equal to the token in ``.headwater/server.json``: the
   CLI, acting as ``admin``;
2. ``Authorization: Bearer <token>`` of a user's API token (``headwater token create``):
   a script, with the user's role;
3. the session cookie :data:`SESSION_COOKIE` set by the login page: a browser, with the
   user's role.

Routes declare what they need with ``dependencies=[Depends(require("operator"))]`` (or take
the principal: ``who: Principal = Depends(require("viewer"))``). Roles: viewer < operator <
admin (:func:`headwater.api.users.role_allows`). A state-changing request (any method but
GET, HEAD, OPTIONS) made with a session cookie must also carry the session's CSRF token, in
the :data:`CSRF_HEADER` header (htmx, fetch: from the page's ``<meta name="csrf-token">``)
or the :data:`CSRF_FIELD` form field; bearer tokens need none (a browser never sends them on
its own).

Refusals: no credentials -> 401 (``/api``) or a redirect to the login page (pages); the
wrong role or a missing CSRF token -> 403. ``/api`` answers are ``{"error", "exit_code"}``
like every other error of the JSON API.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from headwater.api import users
from headwater.ui.auth_cache import remembered
from headwater.ui.state import UIState, state

SESSION_COOKIE = "headwater_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SERVER_USER = "server.json"  # the name the server.json token acts under


@dataclass(frozen=True)
class Principal:
    """Who made a request: a user's ``name`` and ``role``; ``via`` is ``server-token``,
    ``api-token`` or ``session``; ``csrf_token`` is the session's (None otherwise)."""

    name: str
    role: str
    via: str
    csrf_token: str | None = None

    def allows(self, role: str) -> bool:
        """Whether this principal may do what ``role`` may."""
        return users.role_allows(self.role, role)


class NotAuthenticated(Exception):
    """No valid credentials: 401 for ``/api``, the login page otherwise."""


class Forbidden(Exception):
    """Authenticated but not allowed (role, CSRF): 403 with this one-line message."""


def principal(request: Request) -> Principal | None:
    """The request's principal (see the module docstring), or None; looked up once and
    kept on ``request.state`` (shared by the middleware and the route's dependencies)."""
    if hasattr(request.state, "principal"):
        found: Principal | None = request.state.principal
        return found
    found = _lookup(request)
    request.state.principal = found
    return found


def _lookup(request: Request) -> Principal | None:
    ui = state(request)
    given = request.headers.get("authorization", "")
    if given.lower().startswith("bearer "):
        token = given[7:].strip()
        if secrets.compare_digest(token.encode(), ui.server_token.encode()):
            return Principal(SERVER_USER, "admin", "server-token")
        # remembered for auth_cache.TTL seconds: no metastore query on every request
        return remembered(request.app, "token", token, lambda: _token_principal(ui, token))
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return remembered(request.app, "session", cookie, lambda: _session_principal(ui, cookie))
    return None


def _token_principal(ui: UIState, token: str) -> Principal | None:
    user = users.token_user(ui.project, token)
    return None if user is None else Principal(user.name, user.role, "api-token")


def _session_principal(ui: UIState, cookie: str) -> Principal | None:
    found = users.session(ui.project, cookie)
    if found is None:
        return None
    return Principal(found.user.name, found.user.role, "session", found.csrf_token)


def require(role: str) -> Any:
    """A FastAPI dependency: the request's :class:`Principal` if it has ``role`` (or a
    higher one) and, for a state-changing request with a session, the CSRF token.
    Raises NotAuthenticated or Forbidden (turned into responses by :func:`install`)."""
    if role not in users.ROLE_ORDER:
        raise ValueError(f"unknown role {role!r}")

    async def dependency(request: Request) -> Principal:
        who = principal(request)
        if who is None:
            raise NotAuthenticated()
        if not who.allows(role):
            raise Forbidden(f"{who.name} ({who.role}) may not do this: it needs the {role} role")
        if request.method not in SAFE_METHODS and who.via == "session":
            given = request.headers.get(CSRF_HEADER) or await _form_token(request)
            if not given or not secrets.compare_digest(given, who.csrf_token or ""):
                raise Forbidden("missing or wrong CSRF token: reload the page and try again")
        return who

    dependency.required_role = role  # type: ignore[attr-defined]  # read by tests/ui
    return dependency


async def _form_token(request: Request) -> str:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return ""
    value = (await request.form()).get(CSRF_FIELD)  # Starlette keeps the parsed form
    return value if isinstance(value, str) else ""


def is_api(request: Request) -> bool:
    """Whether the request is for the JSON API (JSON errors) rather than a page."""
    return request.url.path.startswith(request.scope.get("root_path", "") + "/api")


def api_error(message: str, status: int, exit_code: int = 1) -> JSONResponse:
    """The JSON API's error shape."""
    return JSONResponse({"error": message, "exit_code": exit_code}, status_code=status)


def install(app: Any) -> None:
    """Register the responses of NotAuthenticated and Forbidden on ``app``."""
    from headwater.ui.render import error_page, url

    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        if is_api(request):
            return api_error("not logged in: missing or wrong token or session", 401)
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(url(request, "login", next=target), status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if is_api(request):
            return api_error(str(exc), 403)
        return error_page(request, str(exc), 403)


def set_session_cookie(request: Request, response: Response, cookie: str, max_age: int) -> None:
    """Give the browser its session cookie: HttpOnly, SameSite=Lax, Secure over https, for
    the server's whole path (its root path behind a proxy)."""
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=(request.scope.get("root_path") or "") + "/",
    )


OPEN_PATHS = frozenset({"/api/health", "/login"})  # and /static/...: no credentials needed


def route_path(request: Request) -> str:
    """The request's path without the server's root path (what the routes match)."""
    root = request.scope.get("root_path") or ""
    path = request.url.path
    return path[len(root) :] if root and path.startswith(root) else path


def refuse_anonymous(request: Request) -> Response | None:
    """The answer to a request without valid credentials for anything but the open paths
    (401 for the API and its OpenAPI description, a redirect to the login page for pages);
    None when it may go on. The app's middleware calls it: a route that forgot its
    ``require`` still answers no one anonymous."""
    path = route_path(request)
    if path in OPEN_PATHS or path.startswith("/static/") or principal(request) is not None:
        return None
    if path.startswith(("/api", "/openapi.json", "/docs", "/redoc")):
        return api_error("missing or wrong token or session (see .headwater/server.json)", 401)
    from headwater.ui.render import url

    target = request.url.path + ("?" + request.url.query if request.url.query else "")
    return RedirectResponse(url(request, "login", next=target), status_code=303)
