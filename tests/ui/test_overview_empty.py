"""A new project's server, before any load: the overview and the quarantine answer (a new
warehouse has no ``_headwater`` schema yet; GET /api/quarantine used to fail with a 500)."""

from __future__ import annotations

import signal
from pathlib import Path

from ui_server import _start

from headwater.testing.cli import write_project


def test_new_project_overview_and_quarantine_answer(tmp_path: Path) -> None:
    root = write_project(tmp_path / "new", {"models/marts/one.sql": "select 1 as a\n"})
    server = _start(root)
    try:
        with server.api() as api:
            quarantine = api.get("/api/quarantine")
            assert quarantine.status_code == 200, quarantine.text
            assert quarantine.json() == {"quarantined": [], "rejected": []}
            overview = api.get("/api/overview").json()
            assert overview["pipelines"] == [] and overview["quarantined"] == []
            assert overview["failing_checks"] == []
    finally:
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(30)
