"""``headwater loads`` with a server up is answered by the server (the warehouse is the
server's), and prints what the same command prints in-process once the server is gone."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from server_process import Server, cli, metastore

from headwater.testing.cli import write_project


def test_loads_through_the_server_equal_loads_in_process(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "shop",
        {
            "headwater.toml": '[sources.orders]\nfiles = "data/*.csv"\nprimary_key = ["id"]\n',
            "data/a.csv": "id,amount\n1,10\n2,20\n",
        },
    )
    server = Server(root)
    try:
        assert cli(root, "run").returncode == 0  # run by the server
        (root / "data" / "b.csv").write_text("id,amount\n3,30\n")
        assert cli(root, "run").returncode == 0
        served = cli(root, "loads", "-f", "json")
        pid = server.info["pid"]
    finally:
        assert server.stop(signal.SIGTERM) == 0
    assert served.returncode == 0, served.stderr
    here = cli(root, "loads", "-f", "json")  # no server now: in-process
    assert here.returncode == 0, here.stderr
    assert json.loads(served.stdout) == json.loads(here.stdout)
    loads = json.loads(served.stdout)
    assert [ld["asset"] for ld in loads] == ["raw.orders", "raw.orders"]
    assert sorted(ld["rows_read"] for ld in loads) == [1, 2]  # each file read once
    with metastore(root) as store:
        assert {r.pid for r in store.runs(10)} == {pid}  # both loads by the server's process
