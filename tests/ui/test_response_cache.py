"""The server's response cache and remembered credentials (server/cache.py,
server/generation.py, ui/auth_cache.py), on the session's real server: a write by another
process shows on the next GET, a matching ETag gets 304, a viewer never gets an admin's
answer, a token revoked elsewhere is refused within auth_cache.TTL (at once through the
server), and a run the server itself runs is seen to end."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from ui_server import USERS, Session, UIServer

from headwater.api import users
from headwater.ui.auth_cache import TTL


def _labels(answer: httpx.Response) -> set[str]:
    assert answer.status_code == 200, answer.text
    return {t["label"] for t in answer.json()}


def test_a_write_by_another_process_shows_on_the_next_get(ui_server: UIServer) -> None:
    with ui_server.api() as admin:
        before = admin.get("/api/tokens", params={"user": USERS["viewer"]})
        again = admin.get("/api/tokens", params={"user": USERS["viewer"]})
        assert again.headers["etag"] == before.headers["etag"]  # served from the cache
        # this test's process writes the metastore on its own connection, well within the
        # cache's MAX_AGE: only the metastore's generation can tell the server
        made = users.create_token(ui_server.root, USERS["viewer"], "written-elsewhere")
        after = admin.get("/api/tokens", params={"user": USERS["viewer"]})
        assert "written-elsewhere" in _labels(after)
        assert "written-elsewhere" not in _labels(before)
        users.revoke_token(ui_server.root, made.id)


def test_a_matching_etag_gets_304_until_the_answer_changes(ui_server: UIServer) -> None:
    with ui_server.api() as admin:
        first = admin.get("/api/tokens")
        etag = first.headers["etag"]
        same = admin.get("/api/tokens", headers={"If-None-Match": etag})
        assert same.status_code == 304 and same.content == b""
        assert same.headers["etag"] == etag
        made = users.create_token(ui_server.root, USERS["viewer"], "etag-changer")
        changed = admin.get("/api/tokens", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        assert "etag-changer" in _labels(changed)
        users.revoke_token(ui_server.root, made.id)


def test_a_viewer_never_gets_the_admin_s_answer(
    ui_server: UIServer, as_role: Callable[[str], Session]
) -> None:
    with ui_server.api() as admin:
        listed = admin.get("/api/users")  # computed and kept for the admin role
        assert listed.status_code == 200 and USERS["viewer"] in listed.text
        for _ in range(2):  # twice: neither the admin's entry nor the viewer's refusal kept
            refused = as_role("viewer").get("/api/users")
            assert refused.status_code == 403 and "password" not in refused.text
            assert USERS["admin"] not in refused.text  # the list of users is not in it
        assert admin.get("/api/users").status_code == 200


def test_a_revoked_token_is_refused_within_the_ttl(ui_server: UIServer) -> None:
    made = users.create_token(ui_server.root, USERS["viewer"], "revoked-elsewhere")
    auth = {"Authorization": f"Bearer {made.token}"}
    with httpx.Client(base_url=ui_server.url, headers=auth, timeout=30) as script:
        assert script.get("/api/runs").status_code == 200  # now remembered
        users.revoke_token(ui_server.root, made.id)  # by another process
        revoked = time.monotonic()
        while script.get("/api/runs").status_code == 200:
            assert time.monotonic() - revoked < TTL + 0.5, "revoked token still accepted"
            time.sleep(0.05)
        assert script.get("/api/overview").status_code == 401


def test_a_token_revoked_through_the_server_is_refused_at_once(ui_server: UIServer) -> None:
    made = users.create_token(ui_server.root, USERS["viewer"], "revoked-here")
    auth = {"Authorization": f"Bearer {made.token}"}
    with httpx.Client(base_url=ui_server.url, headers=auth, timeout=30) as script:
        assert script.get("/api/runs").status_code == 200
        with ui_server.api() as admin:
            assert admin.post(f"/api/tokens/{made.id}/revoke").status_code == 200
        assert script.get("/api/runs").status_code == 401


def test_the_server_s_own_run_is_seen_to_end(as_role: Callable[[str], Session]) -> None:
    queued = as_role("operator").post("/api/pipelines/daily/trigger")
    assert queued.status_code == 202, queued.text
    run_id = queued.json()["run_id"]
    viewer = as_role("viewer")
    deadline = time.monotonic() + 60
    status = "queued"
    while status in ("queued", "running"):  # polled as fast as a dashboard could
        assert time.monotonic() < deadline, f"run {run_id} still {status} after 60 s"
        status = viewer.get(f"/api/runs/{run_id}").json()["run"]["status"]
    listed = {r["run_id"]: r["status"] for r in viewer.get("/api/runs").json()}
    assert listed[run_id] == status
