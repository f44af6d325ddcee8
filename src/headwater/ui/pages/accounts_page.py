"""``/accounts``: the admin's page of users and API tokens, the browser's face of
``/api/users`` and ``/api/tokens`` (:mod:`headwater.ui.pages.accounts`), calling the same
:mod:`headwater.api.users` functions as they and ``headwater user`` / ``headwater token`` do.

Admins only: a viewer or operator is refused every route here (403) and sees no link to it.
Every form posts the session's CSRF token (:mod:`headwater.ui.auth`). A user or token is
named by a form field or query parameter, never by a path segment (a user name may hold any
printable character).

- ``GET /accounts``: users (name, role, created, disabled) and tokens (label, user, created,
  last used, revoked), with the forms: add a user, change a role, reset a password, create
  a token. ``done`` and ``target`` say what the action just done did.
- ``POST /accounts/users|role|password``: do it, then back to the page (303).
- ``POST /accounts/disable|delete|revoke``: with ``confirm=yes`` do it; without, only lead
  to ``GET /accounts/confirm?action=...&target=...``, which says what will happen and holds
  the confirming form.
- ``POST /accounts/tokens``: create a token; the answer page is the only place its secret
  is ever shown (not stored: only its sha256 is kept), sent with ``Cache-Control: no-store``.

A refused action (duplicate user, short password, unknown role or user) changes nothing and
answers the page again with one line saying why, status 400. Passwords are never rendered,
not even back into the form that was refused.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from headwater.api import users
from headwater.errors import HeadwaterError
from headwater.ui.auth import require
from headwater.ui.render import render, url
from headwater.ui.state import state

router = APIRouter(dependencies=[Depends(require("admin"))])
CONFIRMED = ("disable", "delete", "revoke")  # the actions asked again before they are done


@router.get("/accounts", name="accounts", include_in_schema=False)
def accounts_view(request: Request, done: str = "", target: str = "") -> Response:
    """The users and tokens with their forms; ``done``/``target``: the action just done."""
    return _page(request, done=done, target=target)


@router.post("/accounts/users", name="accounts_add", include_in_schema=False)
def add_user(
    request: Request, name: str = Form(""), password: str = Form(""), role: str = Form("")
) -> Response:
    """Add user ``name`` with ``password`` and ``role``."""
    project = state(request).project
    return _act(
        request,
        lambda: users.add_user(project, name, password, role),
        "added",
        name,
        typed={"name": name, "role": role},
    )


@router.post("/accounts/role", name="accounts_role", include_in_schema=False)
def set_role(request: Request, name: str = Form(""), role: str = Form("")) -> Response:
    """Give user ``name`` the role ``role``."""
    project = state(request).project
    return _act(request, lambda: users.set_role(project, name, role), "role", name)


@router.post("/accounts/password", name="accounts_password", include_in_schema=False)
def set_password(request: Request, name: str = Form(""), password: str = Form("")) -> Response:
    """Give user ``name`` a new password (its sessions end)."""
    project = state(request).project
    return _act(request, lambda: users.set_password(project, name, password), "password", name)


@router.get("/accounts/confirm", name="accounts_confirm", include_in_schema=False)
def confirm(request: Request, action: str = "", target: str = "") -> Response:
    """What ``action`` (disable, delete or revoke) would do to ``target``, and its form."""
    if action not in CONFIRMED:
        return _page(request, problem=f"unknown action {action!r}", status=400)
    title = {"disable": "Disable a user", "delete": "Delete a user", "revoke": "Revoke a token"}
    return render(
        request, "accounts_confirm.html", title=title[action], action=action, target=target
    )


@router.post("/accounts/disable", name="accounts_disable", include_in_schema=False)
def disable(request: Request, target: str = Form(""), confirm: str = Form("")) -> Response:
    """Disable user ``target`` (confirmed): it cannot log in, its tokens stop working."""
    project = state(request).project
    return _confirmed(request, "disable", target, confirm, lambda: users.disable(project, target))


@router.post("/accounts/delete", name="accounts_delete", include_in_schema=False)
def delete(request: Request, target: str = Form(""), confirm: str = Form("")) -> Response:
    """Delete user ``target`` with its tokens and sessions (confirmed)."""
    project = state(request).project
    return _confirmed(
        request, "delete", target, confirm, lambda: users.remove_user(project, target)
    )


@router.post("/accounts/revoke", name="accounts_revoke", include_in_schema=False)
def revoke(request: Request, target: str = Form(""), confirm: str = Form("")) -> Response:
    """Revoke the token whose id is ``target`` (confirmed)."""
    project = state(request).project
    return _confirmed(
        request, "revoke", target, confirm, lambda: users.revoke_token(project, target)
    )


@router.post("/accounts/tokens", name="accounts_token", include_in_schema=False)
def create_token(request: Request, user: str = Form(""), label: str = Form("")) -> Response:
    """A new token of ``user``: its secret on this answer only."""
    try:
        made = users.create_token(state(request).project, user, label.strip() or None)
    except HeadwaterError as exc:
        return _page(request, problem=str(exc), status=400)
    response = render(request, "accounts_token.html", title="New API token", token=made)
    response.headers["Cache-Control"] = "no-store"  # no copy of the secret in a cache
    return response


def _act(
    request: Request,
    action: Callable[[], object],
    done: str,
    target: str,
    typed: dict[str, str] | None = None,
) -> Response:
    """Run ``action``; back to the page saying ``done`` to ``target``, or the page again
    with the error (400; ``typed``: the add form's fields to fill in again)."""
    try:
        action()
    except HeadwaterError as exc:
        return _page(request, problem=str(exc), status=400, typed=typed)
    return RedirectResponse(url(request, "accounts", done=done, target=target), status_code=303)


def _confirmed(
    request: Request, action: str, target: str, confirm: str, run: Callable[[], object]
) -> Response:
    """Run ``run`` when the form said ``confirm=yes``; else only to the confirmation."""
    if confirm != "yes":
        there = url(request, "accounts_confirm", action=action, target=target)
        return RedirectResponse(there, status_code=303)
    return _act(request, run, action, target)


def _page(
    request: Request,
    *,
    done: str = "",
    target: str = "",
    problem: str = "",
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    project = state(request).project
    return render(
        request,
        "accounts.html",
        status_code=status,
        title="Accounts",
        users=users.list_users(project),
        tokens=users.list_tokens(project),
        roles=users.ROLE_ORDER,
        min_password=users.MIN_PASSWORD,
        done=done,
        target=target,
        problem=problem,
        typed=typed or {"name": "", "role": "viewer"},
    )
