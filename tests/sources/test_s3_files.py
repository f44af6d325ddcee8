"""File sources in S3 (moto's server on 127.0.0.1): globs, day= partitions, incremental by
new or changed object, credentials from ${ENV} never shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import invoke
from headwater.testing.cli import query_warehouse as table
from headwater.testing.servers.s3 import KEY_ID, SECRET, S3Server


@pytest.fixture
def lake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HW_S3_KEY", KEY_ID)
    monkeypatch.setenv("HW_S3_SECRET", SECRET)


def _project(project_dir: Any, s3: S3Server, source: str) -> Path:
    url = s3.connection_url(key_env="HW_S3_KEY", secret_env="HW_S3_SECRET")
    toml = f'[connections.lake]\nurl = "{url}"\n\n[sources.orders]\nconnection = "lake"\n'
    return project_dir({"headwater.toml": toml + source})  # type: ignore[no-any-return]


def test_csv_glob_with_day_partitions_loads_every_object(project_dir, s3, bucket, lake_env):
    s3.put(bucket, "landing/orders/day=2026-11-01/a.csv", b"id,amount\n1,10\n2,20\n")
    s3.put(bucket, "landing/orders/day=2026-11-02/b.csv", b"id,amount\n3,30\n")
    s3.put(bucket, "landing/other/c.csv", b"id,amount\n9,90\n")  # outside the glob
    files = f"s3://{bucket}/landing/orders/*/*.csv"
    root = _project(project_dir, s3, f'files = "{files}"\n')
    step = run(load_project(root)).steps["raw.orders"]
    assert step.status == "success", step.error
    rows = table(root, "select id, amount, day, _hw_file from raw.orders order by id")
    assert [(r[0], r[1], str(r[2])) for r in rows] == [
        ("1", "10", "2026-11-01"),
        ("2", "20", "2026-11-01"),
        ("3", "30", "2026-11-02"),
    ]
    assert rows[2][3] == f"s3://{bucket}/landing/orders/day=2026-11-02/b.csv"
    logs = " ".join(p.read_text() for p in (root / ".headwater/logs").rglob("*.log"))
    assert "3 new or changed files" not in logs and "2 new or changed files" in logs
    assert SECRET not in logs and "hw%2Ftest" not in logs  # the secret, nor encoded


def test_a_second_run_loads_only_new_objects(project_dir, s3, bucket, lake_env):
    s3.put_parquet(bucket, "in/day=1/a.parquet", {"id": [1, 2]})
    root = _project(project_dir, s3, f'files = "s3://{bucket}/in/**/*.parquet"\n')
    assert run(load_project(root)).steps["raw.orders"].status == "success"
    s3.put_parquet(bucket, "in/day=2/b.parquet", {"id": [3]})
    second = run(load_project(root)).steps["raw.orders"]
    assert second.status == "success", second.error
    assert second.result.get("rows_out") == 1  # only b.parquet was read
    assert table(root, "select id from raw.orders order by id") == [(1,), (2,), (3,)]
    third = run(load_project(root)).steps["raw.orders"]
    assert third.result.get("rows_out") in (0, None)  # nothing new: nothing read


def test_a_changed_object_is_reloaded_and_the_same_bytes_are_not(project_dir, s3, bucket, lake_env):
    s3.put(bucket, "in/a.csv", b"id\n1\n")
    extra = 'primary_key = "id"\nwrite = "merge"\n[sources.orders.column_types]\nid = "BIGINT"\n'
    files = f"s3://{bucket}/in/*.csv"
    root = _project(project_dir, s3, f'files = "{files}"\n{extra}')
    assert run(load_project(root)).steps["raw.orders"].status == "success"
    s3.put(bucket, "in/a.csv", b"id\n1\n")  # uploaded again, same bytes: same ETag
    assert run(load_project(root)).steps["raw.orders"].result.get("rows_out") in (0, None)
    s3.put(bucket, "in/a.csv", b"id\n1\n2\n")  # new content: new ETag and size
    step = run(load_project(root)).steps["raw.orders"]
    assert step.status == "success", step.error
    assert step.result.get("rows_in") == 2  # the changed object was read again, whole
    assert table(root, "select id from raw.orders order by id") == [(1,), (2,)]
    state = table(root, "select state from _headwater.state where asset = 'raw.orders'")
    assert f"s3://{bucket}/in/a.csv" in state[0][0]  # key, size and ETag are in the state


def test_a_glob_matching_no_object_names_bucket_prefix_and_endpoint(
    project_dir, s3, bucket, lake_env
):
    root = _project(project_dir, s3, f'files = "s3://{bucket}/none/*.csv"\n')
    error = run(load_project(root)).steps["raw.orders"].error or ""
    assert f"under s3://{bucket}/none/ (endpoint {s3.endpoint_url})" in error
    assert SECRET not in error and "allow_empty" in error


def test_bad_credentials_fail_naming_bucket_and_endpoint_never_the_secret(
    project_dir, s3, bucket, monkeypatch
):
    # moto accepts any key unless asked; an unknown bucket is its refusal here
    monkeypatch.setenv("HW_S3_KEY", KEY_ID)
    monkeypatch.setenv("HW_S3_SECRET", SECRET)
    root = _project(project_dir, s3, 'files = "s3://no-such-bucket-hw/in/*.csv"\n')
    result = invoke("run", "-p", str(root))
    assert result.exit_code == 5
    step = run(load_project(root)).steps["raw.orders"]
    error = step.error or ""
    assert "s3://no-such-bucket-hw/in/" in error and s3.endpoint_url in error
    assert SECRET not in result.output and SECRET not in error
    assert "Traceback" not in result.output


def test_an_s3_glob_without_a_connection_is_a_located_project_error(project_dir):
    root = project_dir({"headwater.toml": '[sources.orders]\nfiles = "s3://b/in/*.csv"\n'})
    result = invoke("run", "-p", str(root))
    assert result.exit_code == 2
    assert "headwater.toml:5: sources.orders.files: an s3:// glob needs connection" in result.output
