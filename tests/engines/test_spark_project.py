"""A small project (a CSV source, two SQL models, checks) built by ``headwater run`` on
Spark local[2], in its own process as a user runs it: the tables hold what DuckDB builds
from the same project; a load killed (SIGKILL) while it writes its new version leaves the
previous table published; and a second SparkSession on the same Hive metastore (another
process) reads the tables after the runs.

Three JVMs start here (two runs and the reader): this module is the slow part of the Spark
tests, so it asserts everything on the one set of runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from headwater.testing.cli import invoke, query_warehouse, write_project

# three JVMs start here: ~10 s each idle, minutes each on a loaded machine
pytestmark = pytest.mark.timeout(1800)

MODELS = {
    "models/staging/stg_orders.sql": (
        "select id, region, cast(amount as double) as amount from raw.orders"
    ),
    "models/marts/by_region.sql": (
        "select region, count(*) as orders, round(sum(amount), 2) as total "
        "from staging.stg_orders group by region"
    ),
    "models/marts/by_region.yml": "checks:\n  - not_null: region\n  - unique: [region]\n",
}
SOURCE = """
[sources.orders]
files = "data/orders.csv"
format = "csv"
primary_key = ["id"]
write = "replace"
[[sources.orders.checks]]
type = "not_null"
column = "id"
"""
REGIONS = ["africa", "europe", "asia"]

#: Run in a second process: a new SparkSession on the project's Derby metastore, printing
#: the tables' rows (JSON) and the version raw.orders' view reads.
READER = """
import json, os, sys
os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
from pyspark.sql import SparkSession
root = sys.argv[1]
spark = (SparkSession.builder.master("local[1]")
    .config("spark.sql.warehouse.dir", root + "/.headwater/spark-warehouse")
    .config("spark.hadoop.javax.jdo.option.ConnectionURL",
            "jdbc:derby:;databaseName=" + root + "/.headwater/spark-metastore")
    .config("spark.ui.enabled", "false")
    .enableHiveSupport().getOrCreate())
out = {}
for name in ("raw.orders", "staging.stg_orders", "marts.by_region"):
    frame = spark.table(name).select(*[c for c in spark.table(name).columns
                                       if not c.startswith("_hw_")])
    out[name] = sorted([[str(v) for v in row] for row in frame.collect()])
props = dict(spark.sql("show tblproperties raw.orders").collect())
out["version"] = props.get("headwater.version")
print("ROWS " + json.dumps(out))
"""


def _csv(rows: int) -> str:
    lines = ["id,region,amount"]
    lines += [f"{i},{REGIONS[i % 3]},{(i * 7) % 100 + 0.25}" for i in range(rows)]
    return "\n".join(lines) + "\n"


def _project(root: Path, engine: str, rows: int) -> Path:
    toml = f'[project]\nname = "sp"\nengine = "{engine}"\n' + SOURCE
    return write_project(root, {"headwater.toml": toml, "data/orders.csv": _csv(rows), **MODELS})


def _env() -> dict[str, str]:
    return {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYTHONUNBUFFERED": "1"}


def _headwater(root: Path) -> subprocess.Popen[str]:
    exe = Path(sys.executable).parent / "headwater"
    return subprocess.Popen(
        [str(exe), "run"], cwd=root, env=_env(), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _versions(root: Path) -> set[str]:
    folder = root / ".headwater" / "spark-warehouse" / "_hw_versions.db"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def _read_back(root: Path) -> dict[str, list[list[str]]]:
    done = subprocess.run(
        [sys.executable, "-c", READER, str(root)], env=_env(), text=True,
        capture_output=True, timeout=600,
    )  # fmt: skip
    line = next((x for x in done.stdout.splitlines() if x.startswith("ROWS ")), None)
    assert line is not None, done.stdout[-2000:] + done.stderr[-3000:]
    return dict(json.loads(line[5:]))


def _duckdb_answer(root: Path) -> dict[str, list[list[str]]]:
    assert invoke("run", cwd=root).exit_code == 0
    out = {}
    for name, cols in (
        ("raw.orders", "id, region, amount"),
        ("staging.stg_orders", "id, region, amount"),
        ("marts.by_region", "region, orders, total"),
    ):
        rows = query_warehouse(root, f"select {cols} from {name}")
        out[name] = sorted([[str(v) for v in row] for row in rows])
    return out


def test_a_project_builds_on_spark_as_on_duckdb_and_survives_a_killed_load(
    tmp_path: Path,
) -> None:
    spark_root = _project(tmp_path / "spark", "spark", rows=300)
    first = _headwater(spark_root)
    output = first.communicate(timeout=900)[0]
    assert first.returncode == 0, output[-3000:]
    published = _versions(spark_root)

    # a second load, 20 times larger: killed once its new version's files are being written
    (spark_root / "data" / "orders.csv").write_text(_csv(300_000))
    second = _headwater(spark_root)
    deadline = time.monotonic() + 900
    while not (_versions(spark_root) - published) and second.poll() is None:
        assert time.monotonic() < deadline, "the second load never started writing"
        time.sleep(0.005)
    second.send_signal(signal.SIGKILL)
    second.communicate(timeout=60)
    assert second.returncode == -signal.SIGKILL  # killed, not finished

    seen = _read_back(spark_root)  # another process, another SparkSession, same metastore
    expected = _duckdb_answer(_project(tmp_path / "duckdb", "duckdb", rows=300))
    assert seen.pop("version") in published  # the killed load's version was never published
    assert seen == expected
