"""Behind a reverse proxy (``[server] root_path = "/headwater"``; the proxy strips the
prefix): every link, redirect and cookie of the UI carries the prefix. The client plays the
proxy (paths without the prefix), so it hands the cookies over itself: the browser would
send them only under /headwater/."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import httpx
from ui_server import _start, add_user

from headwater.testing.cli import write_project


def test_links_redirects_and_cookies_carry_the_root_path(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "proxied",
        {
            "headwater.toml": '[server]\nroot_path = "/headwater"\n',
            "models/marts/one.sql": "select 1 as a\n",
        },
    )
    add_user(root, "ada", "admin", "admin-pass-1")
    server = _start(root)
    try:
        with httpx.Client(base_url=server.url) as client:
            away = client.get("/")
            assert away.status_code == 303
            assert away.headers["location"] == "/headwater/login?next=%2Fheadwater%2F"
            form = client.get("/login")
            assert 'action="/headwater/login"' in form.text
            assert 'href="/headwater/static/css/headwater.css"' in form.text
            token = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
            assert token is not None
            data = {"name": "ada", "password": "admin-pass-1", "csrf_token": token.group(1)}
            cookie = form.headers["set-cookie"].split(";")[0]
            assert "Path=/headwater/" in form.headers["set-cookie"]
            done = client.post("/login", data=data, headers={"Cookie": cookie})
            assert done.status_code == 303 and done.headers["location"] == "/headwater/"
            assert "Path=/headwater/" in done.headers["set-cookie"]
            assert client.get("/static/css/headwater.css").status_code == 200
    finally:
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(30)
