"""Exports: a model to Parquet, CSV or JSON lines in a folder or S3, published through a
manifest; read back with pyarrow, they equal the model."""

from __future__ import annotations

import io
import json
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
