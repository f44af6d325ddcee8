"""Spark through Spark Connect (``[project] master = "sc://host:port"``), on the run's one
Connect server (tests/engines/conftest.py): ``headwater run`` in its own process, as a user
runs it, builds a CSV source, a SQL model and a Python model on the server, whose catalog
and warehouse hold the tables; a statement is cancelled by ``Engine.interrupt`` without a
SparkContext; an unreachable server, or a warehouse this machine cannot write, is one line.

The engine-neutral suite (tests/engines/neutral, engine id ``spark-connect``) runs every
load, materialization, check and quarantine case on the same server."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from headwater.engines import errors, open_engine
from headwater.engines.spark.engine import _local_folder
from headwater.errors import EngineError
from headwater.testing.cli import query_warehouse, write_project
from headwater.testing.servers import free_port
from headwater.testing.servers.spark_connect import SparkConnectServer

# the server's JVM starts in the first test that uses it: ~15 s idle, minutes when loaded
pytestmark = pytest.mark.timeout(600)

REGIONS = ["africa", "europe", "asia"]
SOURCE = """
[sources.sc_orders]
files = "data/orders.csv"
format = "csv"
primary_key = ["id"]
write = "replace"
[[sources.sc_orders.checks]]
type = "not_null"
column = "id"
"""
MODELS = {
    "models/marts/sc_by_region.sql": (
        "select region, count(*) as orders, round(sum(cast(amount as double)), 2) as total "
        "from raw.sc_orders group by region"
    ),
    "models/marts/sc_by_region.yml": "checks:\n  - unique: [region]\n",
    # a Python model receives the engine's own DataFrame: here a Spark Connect DataFrame
    "python/sc_models.py": (
        "from headwater import model\n\n\n"
        '@model(schema="marts", materialized="table")\n'
        'def sc_big(sc_orders: "pyspark.sql.DataFrame"):\n'
        "    kind = type(sc_orders).__module__\n"
        "    return sc_orders.where('cast(amount as double) >= 50').selectExpr('id', f\"'{kind}' as kind\")\n"
    ),
}


def _amount(i: int) -> float:
    return (i * 7) % 100 + 0.25


def _project(root: Path, master: str, rows: int) -> Path:
    lines = ["id,region,amount"] + [f"{i},{REGIONS[i % 3]},{_amount(i)}" for i in range(rows)]
    toml = f'[project]\nname = "sc"\nengine = "spark"\nmaster = "{master}"\n' + SOURCE
    files = {"headwater.toml": toml, "data/orders.csv": "\n".join(lines) + "\n", **MODELS}
    return write_project(root, files)


def test_headwater_run_in_its_own_process_builds_on_the_connect_server(
    spark_connect: SparkConnectServer, tmp_path: Path
) -> None:
    root = _project(tmp_path / "p", spark_connect.url, rows=30)
    exe = Path(sys.executable).parent / "headwater"
    done = subprocess.run([str(exe), "run"], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    raw = query_warehouse(root, "select id, region, amount from raw.sc_orders")
    assert sorted((int(i), r, float(a)) for i, r, a in raw) == [
        (i, REGIONS[i % 3], _amount(i)) for i in range(30)
    ]
    expected = {
        region: (10, round(sum(_amount(i) for i in range(30) if i % 3 == n), 2))
        for n, region in enumerate(REGIONS)
    }
    by_region = query_warehouse(root, "select region, orders, total from marts.sc_by_region")
    assert {r: (int(o), float(t)) for r, o, t in by_region} == expected
    big = query_warehouse(root, "select id, kind from marts.sc_big")
    assert sorted(int(i) for i, _ in big) == [i for i in range(30) if _amount(i) >= 50]
    assert {kind for _, kind in big} == {"pyspark.sql.connect.dataframe"}
    # the server owns catalog and warehouse: the versions are in its folder, none here
    versions = spark_connect.warehouse / "_hw_versions.db"
    assert any(p.name.startswith("raw__sc_orders__") for p in versions.iterdir())
    assert not (root / ".headwater" / "spark-warehouse").exists()


def test_interrupt_cancels_a_running_statement(
    spark_connect: SparkConnectServer, tmp_path: Path
) -> None:
    engine = open_engine("spark", tmp_path / "w", options={"master": spark_connect.url})
    caught: list[BaseException] = []

    def endless() -> None:
        try:
            engine.query_arrow("select count(*) from range(1000000000000)")
        except BaseException as exc:
            caught.append(exc)

    thread = threading.Thread(target=endless)
    thread.start()
    time.sleep(2)  # the statement is running on the server
    started = time.monotonic()
    engine.interrupt(thread.ident)
    thread.join(60)
    assert not thread.is_alive(), "the statement was not cancelled"
    assert len(caught) == 1 and isinstance(caught[0], errors.query_error()), caught
    assert time.monotonic() - started < 30


def test_an_unreachable_server_is_one_line(tmp_path: Path) -> None:
    url = f"sc://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(EngineError) as info:
        open_engine("spark", tmp_path / "w", options={"master": url})
    message = str(info.value)
    assert message.startswith(f"cannot reach Spark Connect at {url}: ")
    assert "\n" not in message


def test_a_warehouse_this_machine_cannot_write_is_refused() -> None:
    """A server whose warehouse is on HDFS: the loads, which write Parquet from here, would
    write a local folder the server never reads."""
    with pytest.raises(EngineError, match=r"^spark \(sc://h:15002\): the warehouse hdfs://"):
        _local_folder("hdfs://nn:8020/warehouse", "sc://h:15002")
    assert _local_folder("file:/srv/spark%20wh", "sc://h:15002") == Path("/srv/spark wh")
    assert _local_folder("/srv/wh", "local[2]") == Path("/srv/wh")
