"""Exports to ``s3://`` from a PostgreSQL warehouse, against a local S3 (moto's server):
the files (Parquet, CSV, JSON lines by partition) equal the model, typed by its columns, published through the manifest as
DuckDB's are; each object appears whole or not at all (a multipart upload completed only
at the end: a failed or killed write leaves nothing under the key); the connection's
secret appears in no error and no log."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from headwater.engines.postgres.object_store import PART_BYTES, s3_object
from headwater.errors import ConnectionError_
from headwater.sources.storage import S3Access
from headwater.testing.cli import invoke, write_project
from headwater.testing.servers.s3 import SECRET, S3Server

TOML = """
[project]
name = "lake"
engine = "postgres"
warehouse = "{warehouse}"

[connections.lake]
url = "{lake}"

[exports.sales]
model = "marts.sales"
to = "s3://{bucket}/exports/sales"
connection = "lake"
format = "parquet"

[exports.csv]
model = "marts.sales"
to = "s3://{bucket}/exports/csv"
connection = "lake"
format = "csv"

[exports.by_region]
model = "marts.sales"
to = "s3://{bucket}/exports/by_region"
connection = "lake"
format = "jsonl"
partition_by = "region"
"""
SALES = (
    "-- headwater:\n--   materialized: table\n"
    "select i as id, 'c' || (i % 3) as region, cast(i * 1.5 as decimal(12, 2)) as amount\n"
    "from generate_series(1, 300) as g(i)\n"
)


def _get(s3: S3Server, bucket: str, key: str) -> bytes:
    return s3.client().get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]


def _keys(s3: S3Server, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.client().list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_exports_to_s3_equal_the_model_and_never_show_the_secret(
    tmp_path: Path, postgres_url: str, s3: S3Server, bucket: str
) -> None:
    lake = s3.connection_url(key_env="HW_S3_KEY", secret_env="HW_S3_SECRET")
    root = write_project(
        tmp_path / "p",
        {
            "headwater.toml": TOML.format(warehouse=postgres_url, lake=lake, bucket=bucket),
            "models/marts/sales.sql": SALES,
        },
    )
    done = invoke("run", cwd=root)
    assert done.exit_code == 0, done.output
    expected = [
        {"id": i, "region": f"c{i % 3}", "amount": Decimal(i) * Decimal("1.5")}
        for i in range(1, 301)
    ]

    manifest = json.loads(_get(s3, bucket, "exports/sales/_manifest.json"))
    [part] = manifest["parts"]
    [name] = part["files"]
    table = pq.read_table(io.BytesIO(_get(s3, bucket, f"exports/sales/{name}")))
    assert str(table.schema.field("amount").type) == "decimal128(12, 2)"  # the column's type
    assert sorted(table.to_pylist(), key=lambda r: r["id"]) == expected
    assert part["rows"] == manifest["rows"] == 300

    [name] = json.loads(_get(s3, bucket, "exports/csv/_manifest.json"))["parts"][0]["files"]
    csv = pacsv.read_csv(io.BytesIO(_get(s3, bucket, f"exports/csv/{name}")))
    assert sorted(csv.to_pylist(), key=lambda r: r["id"]) == [
        {**r, "amount": float(r["amount"])} for r in expected
    ]

    manifest = json.loads(_get(s3, bucket, "exports/by_region/_manifest.json"))
    files = sorted(manifest["parts"][0]["files"])
    assert [f.split("/")[-2] for f in files] == ["region=c0", "region=c1", "region=c2"]
    lines = [
        {**json.loads(line), "region": f.split("/")[-2].removeprefix("region=")}
        for f in files
        for line in _get(s3, bucket, f"exports/by_region/{f}").decode().splitlines()
    ]
    assert sorted(lines, key=lambda r: r["id"]) == [
        {**r, "amount": float(r["amount"])} for r in expected
    ]
    logs = "".join(p.read_text() for p in (root / ".headwater").rglob("*.log"))
    assert f"s3://{bucket}/exports/sales/_manifest.json" in logs
    for text in (done.output, logs):
        assert SECRET not in text and SECRET.replace("/", "%2F") not in text


def _access(s3: S3Server) -> S3Access:
    return S3Access.parse(s3.connection_url(), "lake")


def test_an_object_appears_whole_when_committed_and_not_at_all_when_the_write_fails(
    s3: S3Server, bucket: str
) -> None:
    data = bytes(range(256)) * (PART_BYTES // 256) + b"tail" * 1000  # two parts
    with s3_object(_access(s3), f"s3://{bucket}/out/data_0.parquet") as obj:
        obj.write(data[:PART_BYTES])
        assert _keys(s3, bucket) == []  # a part went up, no object yet
        obj.write(data[PART_BYTES:])
    assert _keys(s3, bucket) == ["out/data_0.parquet"]
    assert _get(s3, bucket, "out/data_0.parquet") == data

    with (
        pytest.raises(RuntimeError, match="the query failed"),
        s3_object(_access(s3), f"s3://{bucket}/out/data_1.parquet") as obj,
    ):
        obj.write(data)
        raise RuntimeError("the query failed")
    assert _keys(s3, bucket) == ["out/data_0.parquet"]
    uploads = s3.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert uploads == []  # aborted: its parts are gone too


KILLED = """
import sys, time
from headwater.engines.postgres.object_store import PART_BYTES, S3Object
from headwater.sources.storage import S3Access
obj = S3Object(S3Access.parse(sys.argv[1], "lake"), sys.argv[2], "out/data_0.parquet")
obj.write(b"x" * (PART_BYTES + 1))
print("sent", flush=True)
time.sleep(120)
"""


def test_a_killed_upload_leaves_no_object_under_its_key(s3: S3Server, bucket: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, s3.connection_url(), bucket],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "sent\n"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    uploads = s3.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [u["Key"] for u in uploads] == ["out/data_0.parquet"]  # a part was sent...
    assert _keys(s3, bucket) == []  # ...and nothing is under the key


def test_a_failed_upload_names_bucket_and_endpoint_never_the_secret(s3: S3Server) -> None:
    access = _access(s3)
    with (
        pytest.raises(ConnectionError_) as raised,
        s3_object(access, "s3://no-such-bucket/out/data_0.csv") as obj,
    ):
        obj.write(b"id\n1\n")
    message = str(raised.value)
    assert "s3://no-such-bucket/out/data_0.csv" in message
    assert s3.endpoint_url in message and "NoSuchBucket" in message
    assert SECRET not in message
