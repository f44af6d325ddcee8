"""The Spark engine in-process, on the test run's one SparkSession (the JVM starts
once per process): loads publish their rows and state in one
switch, a failed audit or a half-written version leaves the published table as it was,
incremental models merge on their key, and checks run on Spark."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from headwater.engines import Engine, open_engine
from headwater.engines.base import LoadRequest
from headwater.engines.spark.session import SparkOptions, spark_session
from headwater.errors import EngineError
from headwater.quality import quarantine_summary, run_checks
from headwater.quality.spec import parse_checks

# the JVM's start is in the first test's time: ~10 s idle, minutes on a loaded machine
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """A Spark engine on the process's one SparkSession (started here, or by the golden
    tests' ``spark_golden`` when they ran first: then its warehouse is theirs)."""
    root = tmp_path_factory.mktemp("spark")
    engine = open_engine("spark", root / "spark-warehouse", options={"master": "local[2]"})
    engine.ensure_schemas({"raw", "marts"})
    return engine


def _load(engine: Engine, rows: list[dict[str, Any]], **kw: Any) -> Any:
    table = pa.Table.from_pylist(rows)
    request = LoadRequest(
        schema="raw", table="people", load_id=engine.new_load_id(), write="merge",
        primary_key=["id"], cursor="v", batches=pa.RecordBatchReader.from_batches(
            table.schema, table.to_batches()), **kw,
    )  # fmt: skip
    return engine.load("raw.people", request)


def _rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    return sorted(tuple(r.values()) for r in engine.query_arrow(sql).to_pylist())


def _versions(engine: Any, table: str) -> list[str]:
    return [t.name for t in engine.spark.catalog.listTables("_hw_versions") if table in t.name]


def test_merge_loads_publish_rows_and_state_together(spark: Engine) -> None:
    _load(spark, [{"id": 1, "name": "ada", "v": 1}, {"id": 2, "name": "bob", "v": 1}])
    state = spark.read_state("raw.people")
    assert state["cursor"] == "1"
    result = _load(
        spark, [{"id": 2, "name": "bea", "v": 2}, {"id": 3, "name": "cy", "v": 2}],
        state=state, boundary=state["cursor"],
    )  # fmt: skip
    assert result.rows_written == 2
    assert _rows(spark, "select id, name from raw.people") == [(1, "ada"), (2, "bea"), (3, "cy")]
    assert spark.read_state("raw.people")["cursor"] == "2"
    assert len(_versions(spark, "raw__people__")) == 1  # the old version is gone
    loads = _rows(
        spark, "select asset, rows_written from _headwater.loads where asset = 'raw.people'"
    )
    assert sorted(w for _, w in loads)[-2:] == [2, 2]  # both loads wrote 2 rows


def test_a_failed_audit_keeps_the_published_table(spark: Engine) -> None:
    spark.materialize_sql("marts", "nums", "select 1 as n", materialized="table")

    def refuse(cursor: Any, target: str) -> None:
        assert cursor.execute(f"select count(*) from {target}").fetchone() == (2,)
        raise RuntimeError("audit refused")

    with pytest.raises(RuntimeError, match="audit refused"):
        spark.materialize_sql(
            "marts", "nums", "select 1 as n union all select 2", materialized="table",
            audit=refuse,
        )  # fmt: skip
    assert _rows(spark, "select n from marts.nums") == [(1,)]
    assert len(_versions(spark, "marts__nums__")) == 1


def test_a_half_written_version_is_removed_by_the_next_write(spark: Any) -> None:
    spark.materialize_sql("marts", "half", "select 1 as n", materialized="table")
    orphan = spark.warehouse / "_hw_versions.db" / "marts__half__1"
    orphan.mkdir(parents=True)
    (orphan / "part-0.parquet").write_bytes(b"PAR1 cut short")
    spark.materialize_sql("marts", "half", "select 2 as n", materialized="table")
    assert not orphan.exists()
    assert _rows(spark, "select n from marts.half") == [(2,)]


def test_an_incremental_model_merges_on_its_key(spark: Engine) -> None:
    first = "select 1 as k, 'a' as v union all select 2, 'b'"
    spark.materialize_sql("marts", "inc", first, materialized="incremental", unique_key=["k"])
    later = "select 2 as k, 'B' as v union all select 3, 'c'"
    count = spark.materialize_sql(
        "marts", "inc", later, materialized="incremental", unique_key=["k"]
    )
    assert count == 3
    assert _rows(spark, "select k, v from marts.inc") == [(1, "a"), (2, "B"), (3, "c")]


def test_checks_run_on_spark_through_its_cursor(spark: Engine) -> None:
    spark.write_table(
        "marts", "checked", pa.table({"id": [1, 2, 2], "s": ["x", None, "y"]}),
        materialized="table",
    )  # fmt: skip
    items = [{"not_null": "s"}, {"unique": ["id"]}]
    checks = parse_checks(items, path=Path("checked.yml"), text="", asset="marts.checked")
    results = run_checks(spark.cursor(), "marts.checked", "marts.checked", checks)
    assert [(r.type, r.status, r.failing) for r in results] == [
        ("not_null", "fail", 1),
        ("unique", "fail", 2),
    ]


def test_without_pyspark_the_engine_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # as if the extra were missing
    with pytest.raises(EngineError, match=r"pip install \"headwater\[spark\]\""):
        spark_session(SparkOptions())


class _Opened(Exception):
    """Raised by the stand-in engine: the options a command opened Spark with."""


@pytest.mark.parametrize("command", ["query", "loads", "check", "quarantine"])
def test_commands_open_spark_with_the_project_s_master_and_metastore(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """check, query, loads and quarantine start Spark where run does (no JVM here: the
    engine is stood in for, and says what it was opened with)."""
    from headwater import api
    from headwater.engines.spark import engine as spark_engine

    (tmp_path / "headwater.toml").write_text(
        '[project]\nname = "p"\nengine = "spark"\nmaster = "spark://cluster:7077"\n'
        'metastore_uri = "thrift://hive:9083"\n'
    )

    def opened(options: SparkOptions) -> None:
        raise _Opened(options)

    monkeypatch.setattr(spark_engine, "SparkEngine", opened)
    project = api.open_project(tmp_path)
    call = {
        "query": lambda: api.query(project, "select 1"),
        "loads": lambda: api.loads(project),
        "check": lambda: api.check(project),
        "quarantine": lambda: api.quarantine(project),
    }[command]
    with pytest.raises(_Opened) as got:
        call()
    options = got.value.args[0]
    assert (options.master, options.metastore_uri) == ("spark://cluster:7077", "thrift://hive:9083")
    assert options.warehouse == tmp_path / ".headwater" / "spark-warehouse"


_DAILY = (
    "select d, v from marts.daily_src where d >= getvariable('interval_start') "
    "and d < getvariable('interval_end')"
)


def _day(day: int) -> tuple[Any, Any]:
    """Day ``day`` of January 2024 in New York, as the scheduler hands an interval."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    return datetime(2024, 1, day, tzinfo=ny), datetime(2024, 1, day + 1, tzinfo=ny)


def test_a_partitioned_model_replaces_only_its_interval(spark: Engine) -> None:
    from datetime import date

    def source(v1: str, v2: str) -> None:
        rows = pa.table({"d": [date(2024, 1, 1), date(2024, 1, 2)], "v": [v1, v2]})
        spark.write_table("marts", "daily_src", rows, materialized="table")

    def build(sql: str, interval: Any) -> int | None:
        return spark.materialize_partition(
            "marts", "daily", sql, partition_by="d", interval=interval, tz="America/New_York"
        )

    source("a", "b")
    assert build(_DAILY, None) == 2  # a whole build: every row
    source("A", "B")
    # New York's Jan 1 starts at 05:00 UTC: the DATE compares as its local midnight
    assert build(_DAILY, _day(1)) == 1
    got = "select cast(d as string), v from marts.daily"
    assert _rows(spark, got) == [("2024-01-01", "A"), ("2024-01-02", "b")]
    with pytest.raises(EngineError, match=r"1 row\(s\) with d outside the interval"):
        build("select d, v from marts.daily_src", _day(2))  # returns day 1 too
    assert _rows(spark, got) == [("2024-01-01", "A"), ("2024-01-02", "b")]
    assert len(_versions(spark, "marts__daily__")) == 1


_QCHECKS = [{"type": "not_null", "column": "name", "on_fail": "quarantine"}]


def _screened(engine: Engine, table: str, rows: list[dict[str, Any]], **kw: Any) -> Any:
    """A merge load of ``raw.<table>`` whose rows with no name are quarantined (what a
    run's ``screen`` hook does)."""
    from headwater.quality import split_quarantine

    checks = parse_checks(_QCHECKS, path=Path("h.toml"), text="", quarantine_allowed=True)
    data = pa.Table.from_pylist(rows)
    load_id = engine.new_load_id()
    request = LoadRequest(
        schema="raw", table=table, load_id=load_id, write="merge", primary_key=["id"],
        cursor="v", batches=pa.RecordBatchReader.from_batches(data.schema, data.to_batches()),
        screen=lambda cur, staged: split_quarantine(cur, staged, f"raw.{table}", load_id, checks),
        **kw,
    )  # fmt: skip
    return engine.load(f"raw.{table}", request), load_id


def _fail_switch(monkeypatch: pytest.MonkeyPatch, schema: str) -> None:
    """The switch of a view of ``schema`` dies (as a SIGKILL right before it would)."""
    from headwater.engines.spark import versions

    real = versions.publish

    def publish(spark: Any, schema_: str, *args: Any, **kw: Any) -> None:
        if schema_ == schema:
            raise KeyboardInterrupt("killed")
        real(spark, schema_, *args, **kw)

    monkeypatch.setattr(versions, "publish", publish)


def test_quarantine_moves_failing_rows_aside_and_survives_a_kill(
    spark: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = [{"id": 1, "name": "ada", "v": 1}, {"id": 2, "name": None, "v": 1}]
    result, load_id = _screened(spark, "clients", first)
    assert result.rows_written == 1
    assert _rows(spark, "select id from raw.clients") == [(1,)]
    q = "select id, _hw_check, _hw_reason, _hw_load_id from quarantine.clients"
    assert _rows(spark, q) == [(2, "not_null_name", "not_null_name: name is null", load_id)]
    listed = quarantine_summary(spark.cursor(), "raw.clients")  # `headwater quarantine`
    assert [(g.table, g.checks, g.rows, g.loads) for g in listed] == [
        ("clients", "not_null_name", 1, 1)
    ]
    # a kill between the quarantine's switch and the table's: the failing row is in
    # quarantine, the load is not committed (its good row nowhere, its cursor unmoved)
    later = [{"id": 3, "name": "cy", "v": 2}, {"id": 4, "name": None, "v": 2}]
    with monkeypatch.context() as m:
        _fail_switch(m, "raw")
        with pytest.raises(KeyboardInterrupt):
            _screened(spark, "clients", later, boundary="1")
    assert _rows(spark, "select id from raw.clients") == [(1,)]
    assert spark.read_state("raw.clients")["cursor"] == "1"
    assert [r[0] for r in _rows(spark, q)] == [2, 4]
    # the next load reads the window again: the good row lands, the bad one is not doubled
    _screened(spark, "clients", later, boundary="1")
    assert _rows(spark, "select id from raw.clients") == [(1,), (3,)]
    assert [r[0] for r in _rows(spark, q)] == [2, 4]
    assert len(_versions(spark, "quarantine__clients__")) == 1


def test_a_release_killed_between_its_switches_is_rolled_forward(
    spark: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headwater.quality import release
    from headwater.quality.release import RELEASED

    _screened(spark, "guests", [{"id": 1, "name": None, "v": 1}, {"id": 2, "name": "b", "v": 1}])
    checks = parse_checks(_QCHECKS, path=Path("h.toml"), text="", quarantine_allowed=True)
    request = LoadRequest(
        schema="raw", table="guests", load_id=spark.new_load_id(), write="merge",
        primary_key=["id"], cursor="v", scan_sql=f"select * from {RELEASED}",
        before_stage=lambda cur: release(cur, "raw.guests", checks=checks, force=True),
        advance_state=False,
    )  # fmt: skip
    with monkeypatch.context() as m:
        _fail_switch(m, "quarantine")  # dies after the table's switch, before quarantine's
        with pytest.raises(KeyboardInterrupt):
            spark.load("raw.guests", request)
    assert _rows(spark, "select id from raw.guests") == [(1,), (2,)]  # committed
    spark.ensure_schemas(set())  # what every run does first: the quarantine catches up
    assert _rows(spark, "select id from quarantine.guests") == []
    assert len(_versions(spark, "quarantine__guests__")) >= 1
