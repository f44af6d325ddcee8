"""``headwater demo --engine postgres|spark``: the same project and questions, the
warehouse in PostgreSQL or Spark, the four answers equal to the generator's ground truth
(smallest scale)."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from headwater.demo.scaffold import copy_template
from headwater.demo.warehouses import ENV, warehouse
from headwater.project import load_project
from headwater.testing.cli import invoke

SCALE = "0.02"  # a few hundred orders: every planted kind of bad record is still there


def _counts(url: str) -> tuple[int, int]:
    """Rows of marts.fct_sales and quarantined orders in the PostgreSQL warehouse."""
    with psycopg.connect(url) as con:
        sales = con.execute("select count(*) from marts.fct_sales").fetchone()
        bad = con.execute("select count(*) from quarantine.asia_orders").fetchone()
    assert sales is not None and bad is not None
    return int(sales[0]), int(bad[0])


def test_demo_on_a_running_postgres_matches_the_ground_truth(
    postgres_url: str, tmp_path: Path
) -> None:
    demo = tmp_path / "shop"
    got = invoke(
        "demo", "--engine", "postgres", "--warehouse", postgres_url, "--dir", str(demo),
        "--scale", SCALE,
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    assert "The four answers match the generator's ground truth." in got.stdout
    sales, quarantined = _counts(postgres_url)
    assert sales > 0 and quarantined > 0  # built and screened in PostgreSQL, not in DuckDB
    assert not (demo / ".headwater" / "warehouse.duckdb").exists()
    toml = (demo / "headwater.toml").read_text(encoding="utf-8")
    assert 'engine = "postgres"' in toml and ":${HW_DEMO_WAREHOUSE_PASSWORD}@" in toml
    assert "headwater-secret" not in toml + got.output  # the password is in neither


def test_without_a_url_the_demo_starts_its_own_postgres(tmp_path: Path) -> None:
    demo = tmp_path / "shop"
    copy_template(demo)
    with warehouse(demo, "postgres", None) as url:
        assert url is not None
        project = load_project(demo)  # pointed at it, as the demo's run is
        assert project.settings.project.engine == "postgres"
        with psycopg.connect(str(project.warehouse_location)) as con:
            assert con.execute("select current_database()").fetchone() == ("shop",)
    assert (demo / ".headwater" / "servers" / "warehouse").is_dir()
    assert ENV not in os.environ  # the password is the block's only


@pytest.mark.slow  # Spark: every model and check is a Spark job (the JVM may start here)
@pytest.mark.timeout(900)
def test_demo_on_spark_matches_the_ground_truth(tmp_path: Path) -> None:
    """In this process: the run and the answers go to the test session's one SparkSession
    (started here when no Spark test ran before; then its catalog is the demo's)."""
    from pyspark.sql import SparkSession

    demo = tmp_path / "shop"
    got = invoke("demo", "--engine", "spark", "--dir", str(demo), "--scale", SCALE)
    assert got.exit_code == 0, got.output
    assert "The four answers match the generator's ground truth." in got.stdout
    toml = (demo / "headwater.toml").read_text(encoding="utf-8")
    assert 'engine = "spark"' in toml
    assert not (demo / ".headwater" / "warehouse.duckdb").exists()
    spark = SparkSession.getActiveSession()
    assert spark is not None
    sales = spark.sql("select count(*) from marts.fct_sales").collect()[0][0]
    bad = [
        spark.sql(f"select count(*) from quarantine.asia_{table}").collect()[0][0]
        for table in ("orders", "order_items")  # order_items: known_sku reads another table
    ]
    assert sales > 0 and min(bad) > 0  # built and screened in Spark, not in DuckDB


def test_an_engine_the_demo_cannot_run_on_is_one_line_before_anything_is_written(
    tmp_path: Path,
) -> None:
    demo = tmp_path / "shop"
    got = invoke("demo", "--engine", "mysql", "--dir", str(demo))
    assert got.exit_code == 1
    assert got.stderr == "error: --engine must be duckdb, postgres or spark, not 'mysql'\n"
    assert not demo.exists()
