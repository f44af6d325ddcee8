"""One metastore per server process: the read endpoints of the server's app use the store
the process opened (``api.shared_metastore``, set up by ``open_stores``) instead of
opening one per request (a SQLAlchemy engine and a schema check, ~7 ms of CPU each), and
nothing they do closes it; the CLI's calls, outside, still open and close their own."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from headwater import api
from headwater.metastore import store as store_module
from headwater.server.http import create_app
from headwater.server.process import open_stores
from headwater.testing.cli import write_project

TOKEN = "server-token"
FILES = {
    "headwater.toml": '[pipelines.daily]\nselect = ["staging.*"]\n',
    "models/staging/one.sql": "select 1 as a\n",
    "models/staging/two.sql": "select a + 1 as b from staging.one\n",
}
READS = (  # the read endpoints benchmarks/ui_load.py polls
    "/api/runs?limit=20",
    "/api/runs/{run}",
    "/api/overview",
    "/api/grid?limit=100",
    "/api/graph",
    "/api/assets/staging.two",
    "/api/quarantine/assets",
)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The metastore URLs opened (an engine made) from now on."""
    found: list[str] = []
    real = store_module.open_engine

    def counting(url: str, **kwargs: float) -> object:
        found.append(url)
        return real(url, **kwargs)

    monkeypatch.setattr(store_module, "open_engine", counting)
    return found


def test_read_endpoints_share_the_process_metastore(tmp_path: Path, opened: list[str]) -> None:
    project = api.open_project(write_project(tmp_path / "p", FILES))
    run_id = api.run(project, pipeline="daily").run_id
    opened.clear()
    with open_stores(project):
        assert len(opened) == 1  # the server's one store
        app = create_app(project, None, TOKEN)  # type: ignore[arg-type]  # reads need no queue
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            for _ in range(3):
                for path in READS:
                    answer = client.get(path.format(run=run_id))
                    assert answer.status_code == 200, (path, answer.text)
            # the shared store was left open by every request: it still answers
            assert client.get("/api/runs?limit=1").json()[0]["run_id"] == run_id
        assert len(opened) == 1, f"{len(opened) - 1} metastore opens for 22 requests"
    # outside the server, each call opens its own store again and closes it
    assert [r.run_id for r in api.runs(project, 1)] == [run_id]
    assert len(opened) == 2


def test_shared_store_is_per_metastore(tmp_path: Path, opened: list[str]) -> None:
    first = api.open_project(write_project(tmp_path / "a", FILES))
    other = api.open_project(write_project(tmp_path / "b", FILES))
    api.run(first, pipeline="daily")
    opened.clear()
    with open_stores(first):
        assert len(api.runs(first)) == 1
        assert api.runs(other) == []  # another project's history, from its own store
    assert opened == [first.metastore_url, other.metastore_url]
