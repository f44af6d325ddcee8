"""Shared fixtures. Servers (PostgreSQL, MariaDB) are started on loopback by fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.testing.cli import write_project


@pytest.fixture
def project_dir(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Factory: write a project from a dict of files and return its folder."""

    def make(files: dict[str, str], name: str = "proj") -> Path:
        return write_project(tmp_path / name, files)

    return make
