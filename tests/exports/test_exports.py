"""Exports: a model to Parquet, CSV or JSON lines in a folder or S3, published through a
manifest; read back with pyarrow, they equal the model."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest

from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import invoke
from headwater.testing.cli import query_warehouse as table
from headwater.testing.servers.s3 import S3Server

MODEL = """-- headwater:
--   materialized: table
select range as id, 'c' || (range % 3) as region, range * 1.5 as amount
from range({n})
"""
READERS = {
    "parquet": lambda data: pq.read_table(io.BytesIO(data)),
    "csv": lambda data: pacsv.read_csv(io.BytesIO(data)),
    "jsonl": lambda data: pajson.read_json(io.BytesIO(data)),
}


def _toml(export: str, connection: str = "") -> str:
    return f'{connection}\n[exports.sales]\nmodel = "sales"\n{export}'


def _project(project_dir: Any, export: str, *, n: int = 100, connection: str = "") -> Path:
    files = {
        "headwater.toml": _toml(export, connection),
        "models/marts/sales.sql": MODEL.format(n=n),
    }
    return project_dir(files)  # type: ignore[no-any-return]


def _model(root: Path) -> list[tuple[Any, ...]]:
    return table(root, "select id, region, amount from marts.sales order by id")


def _read_back(files: dict[str, bytes], fmt: str) -> list[tuple[Any, ...]]:
    """Every file of the set, with its region=... folder as a column when it has one."""
    rows = []
    for name, data in files.items():
        t = READERS[fmt](data)
        folder = {k: v for k, _, v in (p.partition("=") for p in name.split("/")[:-1]) if _}
        for r in t.to_pylist():
            r = {**r, **folder}
            rows.append((int(r["id"]), str(r["region"]), float(r["amount"])))
    return sorted(rows)


def _local_set(root: Path, folder: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    base = root / folder
    manifest = json.loads((base / "_manifest.json").read_text())
    return manifest, {f: (base / f).read_bytes() for f in manifest["files"]}


def _s3_set(s3: S3Server, bucket: str, prefix: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    client = s3.client()

    def get(key: str) -> bytes:
        return client.get_object(Bucket=bucket, Key=f"{prefix}/{key}")["Body"].read()  # type: ignore[no-any-return]

    manifest = json.loads(get("_manifest.json"))
    return manifest, {f: get(f) for f in manifest["files"]}


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_a_local_export_equals_the_model(project_dir, fmt):
    root = _project(project_dir, f'to = "out/sales"\nformat = "{fmt}"\npartition_by = "region"\n')
    result = run(load_project(root))
    step = result.steps["export.sales"]
    assert step.status == "success", step.error
    assert step.result["rows_out"] == 100
    manifest, files = _local_set(root, "out/sales")
    assert manifest["rows"] == 100 and manifest["model"] == "marts.sales"
    assert {f.split("/")[1] for f in files} == {"region=c0", "region=c1", "region=c2"}
    assert _read_back(files, fmt) == [(i, r, float(a)) for i, r, a in _model(root)]


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_an_s3_export_equals_the_model(project_dir, s3, bucket, fmt):
    conn = f'[connections.lake]\nurl = "{s3.connection_url(key_env="HW_S3_KEY", secret_env="HW_S3_SECRET")}"\n'
    export = f'to = "s3://{bucket}/exports/sales"\nconnection = "lake"\nformat = "{fmt}"\n'
    root = _project(project_dir, export, connection=conn)
    step = run(load_project(root)).steps["export.sales"]
    assert step.status == "success", step.error
    manifest, files = _s3_set(s3, bucket, "exports/sales")
    assert len(files) == 1 and manifest["format"] == fmt
    assert _read_back(files, fmt) == [(i, r, float(a)) for i, r, a in _model(root)]


def test_a_second_export_replaces_the_set_and_removes_the_old_one_later(project_dir):
    root = _project(project_dir, 'to = "out/sales"\n')
    run(load_project(root))
    first, _ = _local_set(root, "out/sales")
    (root / "models/marts/sales.sql").write_text(MODEL.format(n=7))
    run(load_project(root))
    second, files = _local_set(root, "out/sales")
    assert second["rows"] == 7 and len(_read_back(files, "parquet")) == 7
    run(load_project(root))
    writes = {p.name for p in (root / "out/sales").iterdir() if p.is_dir()}
    assert first["parts"][0]["write"] not in writes  # two exports later, it is gone
    assert second["parts"][0]["write"] in writes  # the previous set stays one more export


def test_exports_are_recorded_in_loads(project_dir):
    root = _project(project_dir, 'to = "out/sales"\n')
    run(load_project(root))
    result = invoke("loads", "export.sales", "-p", str(root), "-f", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["asset"], r["rows_written"]) for r in rows] == [("export.sales", 100)]


def test_an_s3_destination_without_a_connection_is_a_located_project_error(project_dir):
    root = _project(project_dir, 'to = "s3://b/x"\n')
    result = invoke("run", "-p", str(root))
    assert result.exit_code == 2
    assert (
        "headwater.toml:7: exports.sales.to: an s3:// destination needs connection" in result.output
    )


def test_an_export_is_a_step_downstream_of_its_model(project_dir):
    root = _project(project_dir, 'to = "out/sales"\n')
    graph = load_project(root).graph
    assert graph["export.sales"].deps == ("marts.sales",)
    result = invoke("graph", "-p", str(root), "-s", "sales+")
    assert "export.sales" in result.output


DAILY = """-- headwater:
--   materialized: table
--   partition_by: day
--   grain: day
select (date '2026-11-01' + (range % 3)::int) as day, range as id, 'c' || (range % 2) as region,
       range * 1.5 as amount
from range(30)
where (date '2026-11-01' + (range % 3)::int) >= getvariable('interval_start')
  and (date '2026-11-01' + (range % 3)::int) < getvariable('interval_end')
"""


def _day(n: int) -> tuple[datetime, datetime]:
    start = datetime(2026, 11, n, tzinfo=UTC)
    return start, start + timedelta(days=1)


def test_an_incremental_export_writes_only_the_new_interval(project_dir):
    files = {
        "headwater.toml": _toml('to = "out/sales"\npartition_by = "day"\n'),
        "models/marts/sales.sql": DAILY,
    }
    root = project_dir(files)
    first = run(load_project(root), interval=_day(1)).steps["export.sales"]
    assert first.status == "success", first.error
    before, _ = _local_set(root, "out/sales")
    seen = {f: (root / "out/sales" / f).stat().st_mtime_ns for f in before["files"]}
    second = run(load_project(root), interval=_day(2)).steps["export.sales"]
    assert second.status == "success", second.error
    assert second.result["rows_out"] == 10  # that day's rows only
    after, data = _local_set(root, "out/sales")
    assert [p["interval"][0][:10] for p in after["parts"]] == ["2026-11-01", "2026-11-02"]
    new_files = [f for f in after["files"] if f not in seen]
    assert [f.split("/")[1] for f in new_files] == ["day=2026-11-02"]
    # the first interval's files are the same files, untouched
    assert {f: (root / "out/sales" / f).stat().st_mtime_ns for f in seen} == seen
    model = table(root, "select id, region, amount from marts.sales order by id")
    assert _read_back(data, "parquet") == [(i, r, float(a)) for i, r, a in model]


def test_a_killed_export_leaves_the_published_set_intact(project_dir):
    root = _project(project_dir, 'to = "out/sales"\n')
    assert run(load_project(root)).steps["export.sales"].status == "success"
    published, files = _local_set(root, "out/sales")
    (root / "models/marts/sales.sql").write_text(MODEL.format(n=3_000_000))
    assert run(load_project(root), include=["marts.sales"]).steps["marts.sales"].status == "success"
    old_write = published["parts"][0]["write"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "headwater", "run", "-p", str(root), "-s", "export.sales"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    partial = None
    deadline = time.monotonic() + 120
    while partial is None and time.monotonic() < deadline and proc.poll() is None:
        writes = [p for p in (root / "out/sales").iterdir() if p.is_dir() and p.name != old_write]
        partial = next((w for w in writes if (w / "data_0.parquet").exists()), None)
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert partial is not None, "the export finished before it could be killed"
    assert proc.returncode == -signal.SIGKILL
    # readers of the manifest still see the published set, whole and unchanged
    after, data = _local_set(root, "out/sales")
    assert after == published and data == files
    assert partial.name not in json.dumps(after)
    # the next export publishes the new rows and removes the killed write's folder
    step = run(load_project(root), include=["export.sales"]).steps["export.sales"]
    assert step.status == "success", step.error
    assert step.result["rows_out"] == 3_000_000
    assert not partial.exists()
