"""File sources in S3 on a PostgreSQL warehouse, against a local S3 (moto's server): the
same objects give the same rows, the same rejected lines and the same incremental loads as
on DuckDB (each load's scan reads the bucket in its own DuckDB, with the secret of the
connection given to ``open_bucket``), and wrong credentials are one line naming the bucket
and endpoint, never the secret."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from headwater.engines import open_engine
from headwater.engines.postgres.files import LocalScan
from headwater.errors import SourceError
from headwater.project import load_project
from headwater.runtime import run
from headwater.sources.storage import S3Access
from headwater.testing.cli import invoke, write_project
from headwater.testing.cli import query_warehouse as table
from headwater.testing.servers.s3 import KEY_ID, SECRET, S3Server

SOURCES = """
[connections.lake]
url = "{lake}"

[sources.orders]
connection = "lake"
files = "s3://{bucket}/orders/*/*.csv"

[sources.events]
connection = "lake"
files = "s3://{bucket}/events/*.jsonl"

[sources.items]
connection = "lake"
files = "s3://{bucket}/items/**/*.parquet"
"""
POSTGRES = '[project]\nname = "lake"\nengine = "postgres"\nwarehouse = "{warehouse}"\n'
TABLES = ("raw.orders", "raw.events", "raw.items")


def _projects(tmp_path: Path, s3: S3Server, bucket: str, postgres_url: str) -> list[Path]:
    """The same sources on DuckDB and on PostgreSQL."""
    lake = s3.connection_url(key_env="HW_S3_KEY", secret_env="HW_S3_SECRET")
    sources = SOURCES.format(lake=lake, bucket=bucket)
    return [
        write_project(tmp_path / "duckdb", {"headwater.toml": sources}),
        write_project(
            tmp_path / "postgres",
            {"headwater.toml": POSTGRES.format(warehouse=postgres_url) + sources},
        ),
    ]


def _rows(root: Path, name: str) -> list[tuple[Any, ...]]:
    """The table's rows, Headwater's load id and time left out, in a stable order."""
    columns = [
        c
        for (c,) in table(
            root,
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = ? order by ordinal_position",
            [name.removeprefix("raw.")],
        )
        if c not in ("_hw_load_id", "_hw_loaded_at")
    ]
    listed = ", ".join(f'"{c}"' for c in columns)
    return table(root, f"select {listed} from {name} order by {listed}")


def test_csv_json_lines_and_parquet_in_s3_load_the_rows_duckdb_loads(
    tmp_path: Path, postgres_url: str, s3: S3Server, bucket: str
) -> None:
    s3.put(bucket, "orders/day=2026-11-01/a.csv", b"id,amount,note\n1,10.5,x\n2,20,\n")
    s3.put(bucket, "orders/day=2026-11-02/b.csv", b"id,amount,note\n3,30.25,z\n")
    events = [{"id": 1, "kind": "view", "at": "2026-11-01T10:00:00"}, {"id": 2, "kind": "buy"}]
    s3.put(bucket, "events/e.jsonl", "".join(json.dumps(e) + "\n" for e in events).encode())
    s3.put_parquet(bucket, "items/x/1.parquet", {"sku": ["a", "b"], "qty": [1, 2]})
    duck, pg = _projects(tmp_path, s3, bucket, postgres_url)
    for root in (duck, pg):
        steps = run(load_project(root)).steps
        assert {a: steps[a].status for a in TABLES} == dict.fromkeys(TABLES, "success"), {
            a: steps[a].error for a in TABLES
        }
    loaded = {name: _rows(pg, name) for name in TABLES}
    assert loaded == {name: _rows(duck, name) for name in TABLES}
    assert [len(loaded[name]) for name in TABLES] == [3, 2, 2]
    assert f"s3://{bucket}/orders/day=2026-11-02/b.csv" in loaded["raw.orders"][2]  # _hw_file
    logs = "".join(p.read_text() for p in (pg / ".headwater").rglob("*.log"))
    assert SECRET not in logs and SECRET.replace("/", "%2F") not in logs


def test_a_second_run_loads_only_the_new_object(
    tmp_path: Path, postgres_url: str, s3: S3Server, bucket: str
) -> None:
    s3.put_parquet(bucket, "items/day=1/a.parquet", {"sku": ["a", "b"], "qty": [1, 2]})
    _, pg = _projects(tmp_path, s3, bucket, postgres_url)
    first = run(load_project(pg), include=["raw.items"]).steps["raw.items"]
    assert first.status == "success", first.error
    s3.put_parquet(bucket, "items/day=2/b.parquet", {"sku": ["c"], "qty": [3]})
    second = run(load_project(pg), include=["raw.items"]).steps["raw.items"]
    assert second.status == "success", second.error
    assert second.result.get("rows_out") == 1  # only b.parquet was read
    assert table(pg, "select sku, qty from raw.items order by sku") == [
        ("a", 1), ("b", 2), ("c", 3),
    ]  # fmt: skip
    third = run(load_project(pg), include=["raw.items"]).steps["raw.items"]
    assert third.result.get("rows_out") in (0, None)  # nothing new: nothing read


def test_a_bad_line_is_rejected_with_its_object_and_line_as_on_duckdb(
    tmp_path: Path, postgres_url: str, s3: S3Server, bucket: str
) -> None:
    s3.put(bucket, "orders/day=1/a.csv", b"id,amount,note\n1,10,x\n2,20,y,extra\n3,30,z\n")
    loaded, rejected = [], []
    for root in _projects(tmp_path, s3, bucket, postgres_url):
        step = run(load_project(root), include=["raw.orders"]).steps["raw.orders"]
        assert step.status == "success", step.error
        loaded.append(table(root, "select id, note from raw.orders order by id"))
        rejected.append(
            table(root, "select file, line, raw from _headwater.rejected_rows order by line")
        )
    assert loaded[1] == loaded[0] == [("1", "x"), ("3", "z")]  # typed as DuckDB sniffed
    assert rejected[1] == rejected[0] == [(f"s3://{bucket}/orders/day=1/a.csv", 3, "2,20,y,extra")]


def _require_signatures(s3: S3Server, allowed: int | float) -> None:
    """moto checks credentials after ``allowed`` more requests (it accepts any by default)."""
    request = urllib.request.Request(
        f"{s3.endpoint_url}/moto-api/reset-auth", data=str(allowed).encode(), method="POST",
        headers={"Content-Type": "text/plain"},  # a form's body would be parsed away
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert json.load(answer)["status"] == "ok"


def test_wrong_credentials_are_one_line_naming_bucket_and_endpoint_never_the_secret(
    tmp_path: Path, postgres_url: str, s3: S3Server, bucket: str
) -> None:
    s3.put(bucket, "orders/day=1/a.csv", b"id\n1\n")
    _, pg = _projects(tmp_path, s3, bucket, postgres_url)
    wrong = S3Access.parse(s3.connection_url().replace(KEY_ID, "nosuchkey"), "lake")
    scan = LocalScan("raw.orders", {bucket: wrong})
    _require_signatures(s3, 0)
    try:
        with pytest.raises(SourceError) as raised:  # the load's own DuckDB reading the object
            scan.batches(f"select * from read_csv('s3://{bucket}/orders/day=1/a.csv')")
        done = invoke("run", "-s", "raw.orders", cwd=pg)  # the listing, before any scan
    finally:
        _require_signatures(s3, 1e18)
        scan.close()
    message = str(raised.value)
    assert len(message.splitlines()) == 1
    assert f"{s3.endpoint_url}/{bucket}/orders/" in message and "403" in message
    assert done.exit_code == 5, done.output  # the step failed, as on DuckDB
    [failed] = [line for line in done.output.splitlines() if "raw.orders failed" in line]
    assert (
        f"listing s3://{bucket}/orders/ (connection 'lake', endpoint {s3.endpoint_url})" in failed
    )
    logs = "".join(p.read_text() for p in (pg / ".headwater").rglob("*.log"))
    for text in (message, done.output, logs):
        assert SECRET not in text and SECRET.replace("/", "%2F") not in text
    assert "Traceback" not in done.output


def test_sources_of_one_bucket_loading_at_once_on_duckdb_each_get_its_secret(
    tmp_path: Path, s3: S3Server
) -> None:
    """The DuckDB warehouse the rows are compared with: parallel loads of one bucket each
    replace its secret (DuckDB's catalog refuses two replacements at once)."""
    access = S3Access.parse(s3.connection_url(), "lake")
    engine = open_engine("duckdb", tmp_path / "warehouse.duckdb")
    errors: list[str] = []
    start = threading.Barrier(4)

    def load() -> None:
        start.wait()
        for _ in range(25):
            try:
                engine.open_bucket("s3://lake/in/*.csv", access)
            except Exception as exc:
                errors.append(str(exc))

    threads = [threading.Thread(target=load) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        engine.close()
    assert errors == []
