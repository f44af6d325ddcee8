"""The accounts' JSON API (admin only): ``GET|POST /api/users``,
``POST /api/users/{name}/role|disable|password``, ``DELETE /api/users/{name}``,
``GET|POST /api/tokens``, ``POST /api/tokens/{token_id}/revoke`` — what ``headwater user`` and
``headwater token`` do, through :mod:`headwater.api.users`. A new token's secret is in the
answer of its POST only. Errors as the rest of the API: ``{error, exit_code}``, 400."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from headwater.api import users
from headwater.ui.auth import require
from headwater.ui.state import state

router = APIRouter(dependencies=[Depends(require("admin"))])


class NewUser(BaseModel):
    """``POST /api/users``."""

    name: str
    password: str
    role: str = "viewer"


class RoleBody(BaseModel):
    role: str


class PasswordBody(BaseModel):
    password: str


class NewToken(BaseModel):
    """``POST /api/tokens``: a token acting as ``user``."""

    user: str
    label: str | None = None


@router.get("/api/users")
def list_users(request: Request) -> list[dict[str, Any]]:
    return [u.to_json() for u in users.list_users(state(request).project)]


@router.post("/api/users", status_code=201)
def add_user(request: Request, body: NewUser) -> dict[str, Any]:
    project = state(request).project
    return users.add_user(project, body.name, body.password, body.role).to_json()


@router.post("/api/users/{name}/role")
def set_role(request: Request, name: str, body: RoleBody) -> dict[str, Any]:
    return users.set_role(state(request).project, name, body.role).to_json()


@router.post("/api/users/{name}/password")
def set_password(request: Request, name: str, body: PasswordBody) -> dict[str, Any]:
    users.set_password(state(request).project, name, body.password)
    return {"name": name, "password_changed": True}


@router.post("/api/users/{name}/disable")
def disable(request: Request, name: str) -> dict[str, Any]:
    return users.disable(state(request).project, name).to_json()


@router.delete("/api/users/{name}")
def remove(request: Request, name: str) -> dict[str, Any]:
    users.remove_user(state(request).project, name)
    return {"name": name, "removed": True}


@router.get("/api/tokens")
def list_tokens(request: Request, user: str | None = None) -> list[dict[str, Any]]:
    return [t.to_json() for t in users.list_tokens(state(request).project, user)]


@router.post("/api/tokens", status_code=201)
def create_token(request: Request, body: NewToken) -> dict[str, Any]:
    return users.create_token(state(request).project, body.user, body.label).to_json()


@router.post("/api/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: str) -> dict[str, Any]:
    users.revoke_token(state(request).project, token_id)
    return {"id": token_id, "revoked": True}
