"""A failing check shows on the overview (page and JSON) until a later run passes it."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import httpx
from ui_server import _start, add_user

from headwater import api
from headwater.api.overview import overview
from headwater.testing.cli import write_project

MODEL = "-- headwater:\n--   materialized: table\nselect {n} as n\n"
CHECKS = 'checks:\n  - expression: "n > 0"\n'


def test_a_failing_check_is_listed_until_it_passes(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "checked",
        {"models/marts/amounts.sql": MODEL.format(n=-1), "models/marts/amounts.yml": CHECKS},
    )
    api.run(root)  # the check fails: its latest result is "fail"
    (failing,) = overview(root).failing_checks
    assert (failing.asset, failing.status, failing.failing) == ("marts.amounts", "fail", 1)

    add_user(root, "vera", "viewer", "viewer-pass-1")
    server = _start(root)
    try:
        with httpx.Client(base_url=server.url) as client:
            form = client.get("/login").text
            token = re.search(r'name="csrf_token" value="([^"]*)"', form)
            assert token is not None
            data = {"name": "vera", "password": "viewer-pass-1", "csrf_token": token.group(1)}
            client.post("/login", data=data)
            page = client.get("/").text
            shown = page[page.index('id="failing-checks"') :]  # the Failing checks section
            assert "marts.amounts" in shown and failing.check in shown and "fail" in shown
            assert client.get("/api/overview").json()["failing_checks"][0]["check"] == failing.check
    finally:
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(30)

    (root / "models/marts/amounts.sql").write_text(MODEL.format(n=5))
    api.run(root)
    assert api.overview.overview(root).failing_checks == []  # type: ignore[attr-defined]
