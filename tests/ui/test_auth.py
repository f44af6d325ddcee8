"""Logins, sessions, roles, CSRF and API tokens against a real server (tests/ui/conftest.py)."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx
from ui_server import HEADWATER, PASSWORDS, USERS, Session, UIServer, add_user, login


def _cli(server: UIServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HEADWATER, *args, "-p", str(server.root)], capture_output=True, text=True, timeout=60
    )


def _login_form(client: httpx.Client, name: str, password: str) -> httpx.Response:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
    assert token is not None
    data = {"name": name, "password": password, "csrf_token": token.group(1)}
    return client.post("/login", data=data)


def test_browser_login_shows_user_and_logout_ends_session(page: Any, ui_server: UIServer) -> None:
    page.goto(ui_server.url + "/")
    assert "/login" in page.url  # logged out: sent to the login page
    login(page, ui_server, "viewer")
    assert USERS["viewer"] in page.get_by_role("banner").inner_text()  # who is logged in
    assert page.get_by_role("heading", name="Pipelines").is_visible()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r".*/login"))
    page.goto(ui_server.url + "/")
    assert "/login" in page.url  # the session is gone, not only the cookie


def test_wrong_password_is_refused_with_one_message(ui_server: UIServer) -> None:
    with httpx.Client(base_url=ui_server.url) as client:
        done = _login_form(client, USERS["operator"], "not-the-password")
        assert done.status_code == 401
        assert "wrong user name or password" in done.text
        assert "headwater_session" not in done.headers.get("set-cookie", "")
        unknown = _login_form(client, "nobody-here", "whatever-123")
        assert unknown.status_code == 401 and "wrong user name or password" in unknown.text
        assert client.get("/api/runs").status_code == 401


def test_logins_are_throttled_after_five_failures(ui_server: UIServer) -> None:
    add_user(ui_server.root, "tina", "viewer", "tina-pass-1")
    with httpx.Client(base_url=ui_server.url) as client:
        for _ in range(5):
            assert _login_form(client, "tina", "wrong-guess").status_code == 401
        # the right password no longer helps until the delay has passed
        throttled = _login_form(client, "tina", "tina-pass-1")
        assert throttled.status_code == 429
        assert "too many failed logins: try again in" in throttled.text
    # another user from the same address is not locked out by tina's failures
    Session(ui_server.url, USERS["viewer"], PASSWORDS["viewer"]).client.close()


def test_post_without_csrf_token_is_refused(as_role: Callable[[str], Session]) -> None:
    operator = as_role("operator")
    refused = operator.post("/api/check", json={}, csrf=False)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]
    wrong = operator.client.post("/api/check", json={}, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403


def test_viewer_cannot_trigger_but_operator_can(
    as_role: Callable[[str], Session], ui_server: UIServer
) -> None:
    refused = as_role("viewer").post("/api/pipelines/daily/trigger")
    assert refused.status_code == 403
    assert refused.json()["error"] == "vera (viewer) may not do this: it needs the operator role"
    assert as_role("viewer").get("/api/runs").status_code == 200
    queued = as_role("operator").post("/api/pipelines/daily/trigger")
    assert queued.status_code == 202, queued.text
    # the CLI's server.json token keeps working, as admin
    with ui_server.api() as api:
        assert api.get(f"/api/runs/{queued.json()['run_id']}").status_code == 200


def test_api_token_works_until_revoked(ui_server: UIServer) -> None:
    made = _cli(ui_server, "token", "create", "--user", USERS["operator"], "--label", "ci")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=ui_server.url, headers=headers) as script:
        assert script.get("/api/runs").status_code == 200
        assert script.post("/api/check", json={}).status_code == 200  # no CSRF for tokens
        listed = _cli(ui_server, "token", "list", "-f", "json")
        assert token not in listed.stdout  # only its id and label are ever shown
        (ours,) = [t for t in __import__("json").loads(listed.stdout) if t["label"] == "ci"]
        assert ours["last_used_at"] is not None
        assert _cli(ui_server, "token", "revoke", ours["id"]).returncode == 0
        # revoked by another process: refused within ui/auth_cache.TTL (2 s)
        deadline = time.monotonic() + 3
        while script.get("/api/runs").status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        refused = script.get("/api/runs")
        assert refused.status_code == 401
        assert "token" in refused.json()["error"]


def test_accounts_api_is_for_admins(as_role: Callable[[str], Session]) -> None:
    refused = as_role("operator").get("/api/users")
    assert refused.status_code == 403
    assert refused.json()["error"] == "otto (operator) may not do this: it needs the admin role"
    admin = as_role("admin")
    names = {u["name"]: u["role"] for u in admin.get("/api/users").json()}
    assert names[USERS["viewer"]] == "viewer" and "password_hash" not in str(names)
    made = admin.post("/api/users", json={"name": "pat", "password": "pat-pass-12"})
    assert made.status_code == 201 and made.json()["role"] == "viewer"
    again = admin.post("/api/users", json={"name": "pat", "password": "pat-pass-12"})
    assert again.status_code == 400 and again.json()["error"] == "user 'pat' already exists"
    token = admin.post("/api/tokens", json={"user": "pat", "label": "bi"}).json()
    with httpx.Client(base_url=str(admin.client.base_url)) as script:
        auth = {"Authorization": f"Bearer {token['token']}"}
        assert script.get("/api/overview", headers=auth).status_code == 200
        listed = admin.get("/api/tokens", params={"user": "pat"}).json()
        assert [t["id"] for t in listed] == [token["id"]] and "token" not in listed[0]
        assert admin.post("/api/users/pat/disable").status_code == 200
        assert script.get("/api/overview", headers=auth).status_code == 401


def test_logout_form_without_csrf_token_is_refused_as_a_page(ui_server: UIServer) -> None:
    session = Session(ui_server.url, USERS["viewer"], PASSWORDS["viewer"])
    try:
        refused = session.client.post("/logout", data={})
        assert refused.status_code == 403
        assert "text/html" in refused.headers["content-type"] and "CSRF token" in refused.text
        assert session.get("/api/runs").status_code == 200  # still logged in
        done = session.client.post("/logout", data={"csrf_token": session.csrf})
        assert done.status_code == 303 and session.get("/api/runs").status_code == 401
    finally:
        session.client.close()
