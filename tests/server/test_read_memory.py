"""The server's read endpoints stay small: none makes DuckDB's Python client import numpy,
pandas or pyarrow (~85 MB of resident memory; DuckDB imports them as soon as a statement
binds a parameter, so the reads give names as SQL literals). Run in a fresh interpreter:
other tests import pandas in this one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from headwater import api
from headwater.testing.cli import write_project

FILES = {
    "headwater.toml": '[pipelines.daily]\nselect = ["staging.*"]\n',
    "models/staging/one.sql": "select 1 as a\n",
    "models/staging/two.sql": "select a + 1 as b from staging.one\n",
}
SCRIPT = """
import sys
from fastapi.testclient import TestClient
from headwater import api
from headwater.server.http import create_app
from headwater.server.process import open_stores

project = api.open_project(sys.argv[1])
with open_stores(project):
    client = TestClient(create_app(project, None, "t"), headers={"Authorization": "Bearer t"})
    for path in sys.argv[2:]:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text)
print(sorted(m for m in ("numpy", "pandas", "pyarrow") if m in sys.modules))
"""
READS = (
    "/api/runs?limit=20",
    "/api/overview",
    "/api/grid?limit=100",
    "/api/graph",
    "/api/assets/staging.two",
    "/api/quarantine/assets",
    "/api/loads",
)


def test_read_endpoints_import_no_dataframe_library(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", FILES)
    run_id = api.run(api.open_project(root), pipeline="daily").run_id
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root), *READS, f"/api/runs/{run_id}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
