"""Fixtures of tests/server: a project with a fast and a slow model, and its server."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_process import SLOW_SQL, Server

from headwater.testing.cli import write_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with a fast model and a slow one."""
    return write_project(
        tmp_path / "proj",
        {
            "headwater.toml": "",
            "models/marts/fast.sql": "select 1 as a\n",
            "models/marts/slow.sql": SLOW_SQL,
        },
    )


@pytest.fixture
def server(project: Path) -> Iterator[Server]:
    srv = Server(project)
    yield srv
    if srv.proc.poll() is None:
        srv.stop(signal.SIGKILL)
