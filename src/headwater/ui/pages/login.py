"""``/login`` and ``/logout``: a browser session from a user name and password.

The login form is protected against login CSRF by a double-submit token (a random value in
a cookie and in the form; a page of another site can set neither). Failed logins are
throttled by :func:`headwater.api.users.authenticate` per (user, client address); the page
says only "wrong user name or password" or how long to wait.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from headwater.api import users
from headwater.ui.auth import SESSION_COOKIE, Principal, principal, require, set_session_cookie
from headwater.ui.render import has_route, render, url
from headwater.ui.state import state

router = APIRouter()
LOGIN_CSRF_COOKIE = "headwater_login_csrf"


@router.get("/login", name="login", include_in_schema=False)
def login_page(request: Request, next: str = "") -> Response:
    """The login form (a logged-in user goes straight on to ``next``)."""
    if principal(request) is not None:
        return RedirectResponse(_target(request, next), status_code=303)
    return _form(request, next, "", 200)


@router.post("/login", name="login_submit", include_in_schema=False)
def login_submit(
    request: Request,
    name: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form(""),
) -> Response:
    """Check the password; on success a session cookie and a redirect to ``next``."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        return _form(request, next, "the form expired: please log in again", 403, name)
    project = state(request).project
    client = request.client.host if request.client else ""
    try:
        user = users.authenticate(project, name, password, client)
    except users.LoginThrottled as exc:
        return _form(request, next, str(exc), 429, name)
    except users.LoginRefused as exc:
        return _form(request, next, str(exc), 401, name)
    started = users.start_session(project, user.name)
    response = RedirectResponse(_target(request, next), status_code=303)
    assert started.cookie is not None
    set_session_cookie(request, response, started.cookie, int(users.SESSION_MAX.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=_cookie_path(request))
    return response


@router.post("/logout", name="logout", include_in_schema=False)
def logout(request: Request, who: Principal = Depends(require("viewer"))) -> Response:
    """End the session (the form carries the CSRF token) and go back to the login page."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        users.end_session(state(request).project, cookie)
    response = RedirectResponse(url(request, "login"), status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=_cookie_path(request))
    return response


def _form(request: Request, next: str, error: str, status: int, name: str = "") -> Response:
    # the same token for every form of this browser until a login succeeds: a second tab
    # (or the browser's favicon request, sent here) must not invalidate the first form
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        status_code=status,
        title="Log in",
        login_csrf=token,
        next=next,
        error=error,
        name=name,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=_cookie_path(request),
    )
    return response


def _cookie_path(request: Request) -> str:
    return (request.scope.get("root_path") or "") + "/"


def _target(request: Request, next: str) -> str:
    """``next`` if it is a path of this server (never another site: ``//host`` or a
    scheme), else the overview."""
    root = request.scope.get("root_path") or ""
    if next.startswith(root + "/") and not next.startswith("//") and "\\" not in next:
        return next
    return url(request, "overview") if has_route(request, "overview") else root + "/"
