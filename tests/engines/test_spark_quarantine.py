"""Quarantine on Spark beyond the not_null case of test_spark_engine.py: a relationships
check's other table is read on Spark, so the load's scratch database sees only the staged
keys' matches, never the other table's rows, and the same rows pass and fail as on DuckDB;
and ``headwater quarantine discard`` publishes the quarantine without the discarded rows
in one switch, leaving the table as it was.

The JVM is the process's one SparkSession (started by the first Spark test that runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from headwater.engines import Engine, open_engine
from headwater.engines.base import LoadRequest
from headwater.project.checks import Check
from headwater.quality import split_quarantine
from headwater.quality.spec import parse_checks

pytestmark = pytest.mark.timeout(900)  # the JVM's start may fall in this module's first test


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """A Spark engine on the process's one SparkSession."""
    root = tmp_path_factory.mktemp("spark")
    engine = open_engine("spark", root / "spark-warehouse", options={"master": "local[2]"})
    engine.ensure_schemas({"raw"})
    return engine


_RELATIONSHIPS = [
    {"type": "relationships", "column": "sku", "to": "raw.products", "on_fail": "quarantine"},
    {
        "type": "relationships", "column": "kind", "to": "raw.products", "field": "category",
        "on_fail": "quarantine",
    },
]  # fmt: skip


class _Screen:
    """A load's screen as the runtime makes it (``reads``: its relationships checks), which
    also keeps what the screening database shows of ``raw.products``."""

    def __init__(self, asset: str, load_id: int, checks: list[Check]) -> None:
        self.asset, self.load_id, self.checks = asset, load_id, checks
        self.reads = tuple(c for c in checks if c.to)
        self.shown: list[tuple[Any, ...]] = []

    def __call__(self, cur: Any, staged: str) -> None:
        if any(c.to == "raw.products" for c in self.reads):
            sql = "select sku, category from raw.products order by sku nulls last, category"
            self.shown = cur.execute(sql).fetchall()
        split_quarantine(cur, staged, self.asset, self.load_id, self.checks)


def _load(engine: Engine, table: str, data: pa.Table, screen: Any = None) -> Any:
    request = LoadRequest(
        schema="raw", table=table, load_id=screen.load_id if screen else engine.new_load_id(),
        write="append", batches=pa.RecordBatchReader.from_batches(data.schema, data.to_batches()),
        screen=screen,
    )  # fmt: skip
    return engine.load(f"raw.{table}", request)


def _items_load(engine: Engine) -> _Screen:
    """raw.products (1,000 skus, categories a-d) then a screened load of raw.items."""
    products = pa.table(
        {
            "sku": pa.array(range(1000), pa.int32()),
            "category": [("a", "b", "c", "d")[i % 4] for i in range(1000)],
            "price": [float(i) for i in range(1000)],
        }
    )
    _load(engine, "products", products)
    items = pa.table(
        {
            "id": [1, 2, 3, 4, 5, 6, 7],
            "sku": [1, 5, 5, 2000, None, 3000, 7],  # 2000 and 3000 are no product's
            "kind": ["a", "b", "zz", "c", "d", None, "a"],  # zz is no category
        }
    )
    checks = parse_checks(_RELATIONSHIPS, path=Path("h.toml"), text="", quarantine_allowed=True)
    screen = _Screen("raw.items", engine.new_load_id(), list(checks))
    _load(engine, "items", items, screen)
    return screen


def _answers(engine: Engine) -> tuple[list[Any], list[Any]]:
    def rows(sql: str) -> list[Any]:
        return sorted(tuple(r.values()) for r in engine.query_arrow(sql).to_pylist())

    kept = rows("select id, sku, kind from raw.items")
    moved = rows("select id, _hw_check, _hw_reason from quarantine.items")
    return kept, moved


def test_a_relationships_check_reads_only_the_staged_keys_matches(
    spark: Engine, tmp_path: Path
) -> None:
    screen = _items_load(spark)
    # the scratch database saw the matched skus (1, 5, 7) and categories (a-d), no more
    # of the 1,000 products (a view over the whole table showed them all before)
    assert screen.shown == [
        (1, None), (5, None), (7, None),
        (None, "a"), (None, "b"), (None, "c"), (None, "d"),
    ]  # fmt: skip
    kept, moved = _answers(spark)
    assert kept == [(1, 1, "a"), (2, 5, "b"), (5, None, "d"), (7, 7, "a")]
    assert [(i, c) for i, c, _ in moved] == [
        (3, "relationships_kind"),
        (4, "relationships_sku"),
        (6, "relationships_sku"),
    ]
    # the same project's load on DuckDB (checks over the whole table): the same rows
    duck = open_engine("duckdb", tmp_path / "warehouse.duckdb")
    try:
        duck.ensure_schemas({"raw"})
        _items_load(duck)
        assert _answers(duck) == (kept, moved)
    finally:
        duck.close()


def test_found_keys_casts_the_sent_keys_to_the_other_table_s_type(spark: Any) -> None:
    from headwater.engines.spark.lookups import found_keys

    spark.spark.createDataFrame(
        pa.table({"code": pa.array([10, 20, 30, 40], pa.int16())})
    ).createOrReplaceTempView("_hw_test_codes")
    # text keys sent to an integer column: cast on Spark ('x' is no integer: no match)
    keys = pa.table({"k": ["20", "x", "40", "50"]})
    found = found_keys(spark.spark, "_hw_test_codes", "code", keys)
    assert found.schema.field("k").type == pa.int16()
    assert sorted(found.column("k").to_pylist()) == [20, 40]


def test_discard_publishes_the_quarantine_without_the_rows_in_one_switch(
    spark: Any, tmp_path: Path
) -> None:
    from headwater import api
    from headwater.engines.spark import versions

    checks = parse_checks(
        [{"type": "not_null", "column": "name", "on_fail": "quarantine"}],
        path=Path("h.toml"), text="", quarantine_allowed=True,
    )  # fmt: skip
    loads = []
    for ids, names in (([1, 2, 3], ["rex", None, None]), ([4, 5], ["tom", None])):
        screen = _Screen("raw.pets", spark.new_load_id(), list(checks))
        _load(spark, "pets", pa.table({"id": ids, "name": names}), screen)
        loads.append(screen.load_id)
    table_before = versions.published(spark.spark, "raw", "pets")
    rows_before = spark.fingerprint("raw", "pets")
    quarantined = "select id from quarantine.pets order by id"
    assert spark.query_arrow(quarantined).column("id").to_pylist() == [2, 3, 5]
    # `headwater quarantine discard raw.pets --load-id <first>` on a Spark project
    root = tmp_path / "proj"
    (root / "data").mkdir(parents=True)
    (root / "data" / "pets.csv").write_text("id,name\n")
    (root / "headwater.toml").write_text(
        '[project]\nname = "p"\nengine = "spark"\n\n'
        '[sources.pets]\nfiles = "data/pets.csv"\nformat = "csv"\n'
    )
    project = api.open_project(root)
    assert api.discard(project, "raw.pets", load_id=str(loads[0])) == 2
    assert spark.query_arrow(quarantined).column("id").to_pylist() == [5]
    assert versions.published(spark.spark, "raw", "pets") == table_before  # one switch
    assert spark.fingerprint("raw", "pets") == rows_before
    shown = versions.published(spark.spark, "quarantine", "pets")
    assert shown is not None and shown.owner == "raw.pets"
    # the same discard again finds nothing: no new version, nothing else changes
    assert api.discard(project, "raw.pets", load_id=str(loads[0])) == 0
    assert versions.published(spark.spark, "quarantine", "pets") == shown
    assert spark.query_arrow(quarantined).column("id").to_pylist() == [5]
    stale = [t.name for t in spark.spark.catalog.listTables(versions.VERSIONS)]
    assert [n for n in stale if n.startswith("quarantine__pets__")] == [shown.version]


def test_a_release_revalidates_a_relationships_check_on_spark(spark: Any, tmp_path: Path) -> None:
    from headwater import api

    check = {"type": "relationships", "column": "sku", "to": "raw.catalog", "on_fail": "quarantine"}
    checks = parse_checks([check], path=Path("h.toml"), text="", quarantine_allowed=True)
    _load(spark, "catalog", pa.table({"sku": [1, 2, 3]}))
    screen = _Screen("raw.lines", spark.new_load_id(), list(checks))
    _load(spark, "lines", pa.table({"id": [1, 2], "sku": [1, 9]}), screen)
    root = tmp_path / "proj"
    (root / "data").mkdir(parents=True)
    for name in ("catalog", "lines"):
        (root / "data" / f"{name}.csv").write_text("id,sku\n")
    (root / "headwater.toml").write_text(
        '[project]\nname = "p"\nengine = "spark"\n\n'
        '[sources.catalog]\nfiles = "data/catalog.csv"\nformat = "csv"\n\n'
        '[sources.lines]\nfiles = "data/lines.csv"\nformat = "csv"\n'
        '[[sources.lines.checks]]\ntype = "relationships"\ncolumn = "sku"\nto = "catalog"\n'
        'on_fail = "quarantine"\n'
    )
    project = api.open_project(root)
    # sku 9 is still no catalog's: re-validated on Spark, the row stays
    assert api.release(project, "raw.lines").released == 0
    _load(spark, "catalog", pa.table({"sku": [9]}))  # the fix upstream
    assert api.release(project, "raw.lines").released == 1
    assert sorted(spark.query_arrow("select id from raw.lines").column("id").to_pylist()) == [1, 2]
    assert spark.query_arrow("select id from quarantine.lines").num_rows == 0
