"""What serves a PostgreSQL warehouse beyond ``run``: quarantine release and discard, an
export's files, a sync into another PostgreSQL database (dry run, then for real),
``headwater.read`` as Arrow, and ``headwater server`` (a run through its API, an asset's
schema and rows). Spark, which cannot write files or diff a sync, refuses in one line."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import headwater
from headwater.errors import ProjectError
from headwater.testing.cli import invoke, write_project
from headwater.testing.servers import PostgresServer

# a file source whose bad rows go to quarantine, a model of it, an export and a sync
TOML = """
[project]
name = "serving"
engine = "postgres"
warehouse = "{warehouse}"

[connections.crm]
url = "{target}"

[sources.orders]
files = "drops/*.csv"
primary_key = ["id"]
write = "merge"

[[sources.orders.checks]]
type = "range"
column = "qty"
min = 1
on_fail = "quarantine"

[[sources.orders.checks]]
type = "accepted_values"
column = "status"
values = ["new", "paid"]
on_fail = "quarantine"

[exports.sales]
model = "marts.sales"
to = "exports/sales"
format = "parquet"

[exports.by_status]
model = "marts.sales"
to = "exports/by_status"
format = "jsonl"
partition_by = "status"

[syncs.to_crm]
model = "marts.sales"
connection = "crm"
table = "public.sales"
key = ["id"]
deletes = true
"""
# rows 2 and 4 fail range_qty, 3 and 4 accepted_values_status: 3 rows quarantined
DROP = "id,qty,status\n1,2,new\n2,-1,new\n3,5,lost\n4,0,weird\n5,3,paid\n"
SALES = (
    "-- headwater:\n--   materialized: table\n"
    "select cast(id as bigint) as id, cast(qty as bigint) as qty, status,\n"
    "  cast(qty as decimal(20, 2)) * 1.5 as amount, timestamp '2026-01-02 03:04:05' as at\n"
    "from raw.orders\n"
)
TARGET_DDL = (
    "create table sales (id bigint primary key, qty bigint, status text, amount numeric(20,2), "
    "at timestamp)"
)


@pytest.fixture
def target_url(postgres_server: PostgresServer) -> str:
    """A second database of the session's server: the sync's target, its table made."""
    url = postgres_server.create_database(f"crm_{time.monotonic_ns()}")
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(TARGET_DDL)
    return url


@pytest.fixture
def project(tmp_path: Path, postgres_url: str, target_url: str) -> Path:
    """The project on a fresh PostgreSQL warehouse, built once (3 rows quarantined)."""
    root = write_project(
        tmp_path / "p",
        {
            "headwater.toml": TOML.format(warehouse=postgres_url, target=target_url),
            "drops/1.csv": DROP,
            "models/marts/sales.sql": SALES,
        },
    )
    ran = invoke("run", "-s", "raw.orders+", "-x", "sync.to_crm", cwd=root)
    assert ran.exit_code == 0, ran.output
    return root


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as con:
        return [tuple(r) for r in con.execute(sql).fetchall()]


def _query(root: Path, sql: str) -> list[list[str]]:
    done = invoke("query", sql, "-f", "json", cwd=root)
    assert done.exit_code == 0, done.output
    return [list(r.values()) for r in json.loads(done.stdout)]


def test_quarantined_rows_are_released_after_their_fix_and_discarded(project: Path) -> None:
    toml = project / "headwater.toml"  # the fix: 'lost' and 'weird' become valid
    toml.write_text(toml.read_text().replace('["new", "paid"]', '["new", "paid", "lost", "weird"]'))
    released = invoke("quarantine", "release", "orders", cwd=project)
    assert released.exit_code == 0, released.output
    assert "released 1 rows into raw.orders (1 written); 2 still fail" in released.stdout
    assert _query(project, "select id from raw.orders order by id") == [["1"], ["3"], ["5"]]
    shown = invoke("loads", "orders", "-f", "json", cwd=project)
    assert shown.exit_code == 0, shown.output
    loads = json.loads(shown.stdout)
    assert len(loads) == 2  # the release is a load of its own
    discarded = invoke("quarantine", "discard", "orders", "--check", "range_qty", cwd=project)
    assert discarded.exit_code == 0, discarded.output
    assert "discarded 2 quarantined rows of raw.orders" in discarded.stdout
    left = json.loads(invoke("quarantine", "-f", "json", cwd=project).stdout)
    assert left["quarantined"] == []


def test_an_export_to_parquet_equals_its_table(project: Path, postgres_url: str) -> None:
    manifest = json.loads((project / "exports/sales/_manifest.json").read_text())
    files = [project / "exports/sales" / f for p in manifest["parts"] for f in p["files"]]
    exported = pq.ParquetDataset(files).read().sort_by("id")
    table = headwater.read("marts.sales", project=project).sort_by("id")
    assert exported.schema.names == table.schema.names == ["id", "qty", "status", "amount", "at"]
    assert exported.to_pylist() == table.to_pylist()
    assert exported.num_rows == _rows(postgres_url, "select count(*) from marts.sales")[0][0] == 2


def test_a_partitioned_jsonl_export_writes_a_folder_per_value(project: Path) -> None:
    root = project / "exports/by_status"
    manifest = json.loads((root / "_manifest.json").read_text())
    files = sorted(f for p in manifest["parts"] for f in p["files"])
    assert [f.split("/")[-2] for f in files] == ["status=new", "status=paid"]
    lines = [json.loads(line) for f in files for line in (root / f).read_text().splitlines()]
    assert lines == [  # the partition column is the folder's, not the rows'
        {"id": 1, "qty": 2, "amount": 3.0, "at": "2026-01-02T03:04:05"},
        {"id": 5, "qty": 3, "amount": 4.5, "at": "2026-01-02T03:04:05"},
    ]


def test_a_sync_into_another_postgres_database_dry_run_then_real(
    project: Path, target_url: str
) -> None:
    plan = invoke("sync", "to_crm", "--dry-run", "-f", "json", cwd=project)
    assert plan.exit_code == 0, plan.output
    counts = json.loads(plan.stdout)
    assert (counts["rows"], counts["inserts"], counts["updates"], counts["deletes"]) == (2, 2, 0, 0)
    assert _rows(target_url, "select count(*) from sales") == [(0,)]  # the dry run wrote nothing
    done = invoke("run", "-s", "sync.to_crm", cwd=project)
    assert done.exit_code == 0, done.output
    got = _rows(target_url, "select id, qty, status, amount::float8 from sales order by id")
    assert got == [(1, 2, "new", 3.0), (5, 3, "paid", 4.5)]
    # a row of the source changes and one goes: one update, one delete, nothing else
    (project / "drops/1.csv").write_text("id,qty,status\n1,7,new\n")
    toml = project / "headwater.toml"
    toml.write_text(toml.read_text().replace('write = "merge"', 'write = "replace"'))
    assert invoke("run", "-s", "raw.orders+", "-x", "sync.to_crm", cwd=project).exit_code == 0
    counts = json.loads(invoke("sync", "to_crm", "--dry-run", "-f", "json", cwd=project).stdout)
    assert (counts["inserts"], counts["updates"], counts["deletes"]) == (0, 1, 1)
    assert invoke("run", "-s", "sync.to_crm", cwd=project).exit_code == 0
    assert _rows(target_url, "select id, qty from sales order by id") == [(1, 7)]


def test_headwater_read_gives_the_table_as_arrow(project: Path) -> None:
    table = headwater.read("sales", project=project, where="qty > 2")
    assert table.column_names == ["id", "qty", "status", "amount", "at"]
    assert table.to_pylist() == [
        {"id": 5, "qty": 3, "status": "paid", "amount": 4.5, "at": datetime(2026, 1, 2, 3, 4, 5)}
    ]
    assert str(table.schema.field("at").type) == "timestamp[us]"  # typed by the column


@pytest.fixture
def served(project: Path) -> Iterator[dict[str, Any]]:
    """``headwater server`` on the project: its server.json, stopped after the test."""
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "headwater"), "server", "-p", str(project),
         "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    info = _ready(proc, project / ".headwater" / "server.json")
    try:
        yield info
    finally:
        proc.terminate()
        assert proc.wait(30) == 0


def _ready(proc: subprocess.Popen[str], path: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {proc.stderr.read()}")  # type: ignore[union-attr]
        try:
            info = json.loads(path.read_text())
            if info["pid"] == proc.pid:
                httpx.get(info["url"] + "/api/health", timeout=1).raise_for_status()
                return dict(info)
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            pass
        time.sleep(0.1)
    raise AssertionError("server not ready in time")


def test_the_server_runs_and_shows_an_asset_s_schema_and_rows(served: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {served['token']}"}
    with httpx.Client(base_url=served["url"], headers=headers, timeout=30) as http:
        asked = http.post("/api/runs", json={"select": ["marts.sales"]})
        assert asked.status_code == 202, asked.text
        run_id = asked.json()["run_id"]
        deadline = time.monotonic() + 30
        while (status := http.get(f"/api/runs/{run_id}").json()["run"]["status"]) in (
            "queued",
            "running",
        ):
            assert time.monotonic() < deadline, "the run did not end"
            time.sleep(0.1)
        assert status == "success"
        asset = http.get("/api/assets/marts.sales").json()
        queried = http.post("/api/query", json={"sql": "select count(*) as n from marts.sales"})
        read = pa.ipc.open_stream(http.get("/api/read/marts.sales").content).read_all()
    assert [c["column"] for c in asset["columns"]] == ["id", "qty", "status", "amount", "at"]
    assert [c["type"] for c in asset["columns"]][:3] == ["bigint", "bigint", "text"]
    sample = asset["sample"]
    assert sample["columns"][:3] == ["id", "qty", "status"]
    assert sorted(r[0] for r in sample["rows"]) == [1, 5]
    assert queried.json()["rows"] == [[2]]
    assert sorted(read.column("id").to_pylist()) == [1, 5]


def test_the_server_s_pages_show_quarantine_and_never_a_stale_warehouse_read(
    served: dict[str, Any], postgres_url: str
) -> None:
    headers = {"Authorization": f"Bearer {served['token']}"}
    with httpx.Client(base_url=served["url"], headers=headers, timeout=30) as http:
        overview = http.get("/api/overview").json()
        held = http.get("/api/quarantine/assets").json()
        lineage = http.get("/api/assets/marts.sales/lineage")
        plan = http.get("/api/syncs/to_crm/plan").json()
        before = http.get("/api/assets/marts.sales").json()["sample"]["rows"]
        # another process writes the warehouse meanwhile (PostgreSQL lets it, unseen by
        # the server): the asset's page must show it at once, not a cached answer
        with psycopg.connect(postgres_url) as con:
            con.execute("insert into marts.sales (id, qty, status) values (9, 1, 'new')")
        after = http.get("/api/assets/marts.sales").json()["sample"]["rows"]
    assert sum(q["rows"] for q in overview["quarantined"]) == 3
    assert [(q["asset"], q["rows"]) for q in held] == [("raw.orders", 3)]
    assert lineage.status_code == 200, lineage.text
    assert (plan["inserts"], plan["updates"], plan["deletes"]) == (2, 0, 0)
    assert sorted(r[0] for r in before) == [1, 5]
    assert sorted(r[0] for r in after) == [1, 5, 9]


def test_spark_refuses_exports_and_syncs_naming_the_capability(tmp_path: Path) -> None:
    import logging

    from headwater.api import open_project
    from headwater.engines.spark.capabilities import CAPABILITIES
    from headwater.exports.step import run_export
    from headwater.syncs import plan_sync

    class Spark:  # what the two steps ask first: the engine's capabilities
        capabilities = CAPABILITIES

    root = write_project(
        tmp_path / "p",
        {
            "headwater.toml": TOML.format(
                warehouse="postgresql://h/db", target="postgresql://t/db"
            ),
            "drops/1.csv": DROP,
            "models/marts/sales.sql": SALES,
        },
    )
    proj = open_project(root)
    with pytest.raises(ProjectError, match="capability files_out"):
        run_export(
            proj.graph["export.sales"], engine=Spark(), settings=proj.settings,
            graph=proj.graph, root=root, run_id=None, log=logging.getLogger("t"),
        )  # fmt: skip
    with pytest.raises(ProjectError, match="capability sync_diff"):
        plan_sync(Spark(), proj.graph["sync.to_crm"])  # type: ignore[arg-type]
