"""Every route of the server's app declares its role with ``require(role)`` (pages and
``/api`` alike, U1's, U2's and U3's): nothing is open but health and the login page, nothing
that runs or changes something is allowed to a viewer, accounts are for admins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from headwater import api
from headwater.api.users import role_allows
from headwater.server.http import create_app
from headwater.testing.cli import write_project

OPEN = {("GET", "/api/health"), ("GET", "/login"), ("POST", "/login")}
READ_ONLY_WRITES = {("POST", "/api/query"), ("POST", "/logout")}  # a viewer may


def _routes(routes: Any) -> Iterator[Any]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # an included router
        if inner is not None:
            yield from _routes(inner.routes)
        elif hasattr(route, "dependant"):
            yield route


def _roles(dependant: Any) -> list[str]:
    found = []
    for dep in dependant.dependencies:
        role = getattr(dep.call, "required_role", None)
        found += [role] if role else []
        found += _roles(dep)
    return found


def test_every_route_declares_a_fitting_role(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {"models/marts/one.sql": "select 1 as a\n"})
    app = create_app(api.open_project(root), None, "token")  # type: ignore[arg-type]
    checked = 0
    for route in _routes(app.routes):
        for method in route.methods - {"HEAD"}:
            key = (method, route.path)
            roles = _roles(route.dependant)
            checked += 1
            if key in OPEN:
                assert roles == [], key
                continue
            assert roles, f"{method} {route.path} has no require(role)"
            strictest = max(roles, key=["viewer", "operator", "admin"].index)
            if route.path.startswith(("/api/users", "/api/tokens")):
                assert strictest == "admin", key
            elif method != "GET" and key not in READ_ONLY_WRITES:
                assert role_allows(strictest, "operator"), f"a viewer may {method} {route.path}"
    assert checked > 30
