"""A ``headwater server`` of a test's own project with an operator and a viewer to log in
as (tests/ui's quarantine, backfill and store pages change or need their own project; the
session's shared server in conftest.py serves another)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asset_projects import PASSWORD as VIEWER_PASSWORD
from asset_projects import VIEWER, Served, serve
from ui_server import Session, add_user

OPERATOR, OPERATOR_PASSWORD = "op1", "operator-pass-9"
LOGINS = {"operator": (OPERATOR, OPERATOR_PASSWORD), "viewer": (VIEWER, VIEWER_PASSWORD)}


def serve_with_roles(root: Path) -> Served:
    """An operator added, then the server (which adds the viewer), ready."""
    add_user(root, OPERATOR, "operator", OPERATOR_PASSWORD)
    return serve(root)


def login_as(page: Any, served: Served, role: str) -> None:
    """Log ``page`` in as ``role`` (operator or viewer) through the login form."""
    name, password = LOGINS[role]
    page.goto(served.url + "/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def session_as(served: Served, role: str) -> Session:
    """An httpx session of ``role`` (close its ``client`` after)."""
    name, password = LOGINS[role]
    return Session(served.url, name, password)
