"""Models on the PostgreSQL warehouse: views, tables, incremental and partitioned models
rendered from the project's dialect give DuckDB's rows; readers never wait for a writer;
the query path is read-only and one statement."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from headwater.engines import Engine, open_engine
from headwater.engines.dialects import render
from headwater.errors import EngineError

ORDERS = pa.table(
    {
        "id": [1, 2, 3, 4, 5],
        "customer": [10, 10, 20, 30, 20],
        "day": pa.array([datetime(2024, 1, d) for d in (1, 2, 2, 3, 7)], pa.timestamp("us")).cast(
            pa.date32()
        ),
        "amount": pa.array(["12.50", "7.25", "3.00", "40.10", "5.15"]).cast(pa.decimal128(10, 2)),
        "status": ["placed", "shipped", "returned", "shipped", "placed"],
    }
)
CUSTOMERS = pa.table({"id": [10, 20, 30], "name": ["Ann", "Bo", "Cy"]})

#: a small jaffle-shop-like project: staging views, a mart table, an incremental model
MODELS = [
    ("stg_orders", "view", "select id, customer, day, amount, status from raw.orders where status <> 'returned'"),
    ("customer_orders", "table",
     "select c.name, count(*) as orders, sum(o.amount) as total, "
     "list(o.id order by o.day, o.id) as ids, dayofweek(min(o.day)) as first_dow, "
     "date_diff('day', min(o.day), max(o.day)) as span_days "
     "from marts.stg_orders o join raw.customers c on c.id = o.customer group by c.name"),
    ("daily", "incremental",
     "select day, count(*) as orders, sum(amount) as amount from marts.stg_orders group by day"),
]  # fmt: skip


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Engine]:
    engine = open_engine("postgres", postgres_url)
    engine.ensure_schemas({"raw", "marts"})
    yield engine
    engine.close()


@pytest.fixture
def duck(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine("duckdb", tmp_path / "w.duckdb")
    engine.ensure_schemas({"raw", "marts"})
    yield engine
    engine.close()


def _build(engine: Engine) -> None:
    engine.write_table("raw", "orders", ORDERS, materialized="table")
    engine.write_table("raw", "customers", CUSTOMERS, materialized="table")
    for name, kind, sql in MODELS:
        extra: dict[str, Any] = {"unique_key": ["day"]} if kind == "incremental" else {}
        engine.materialize_sql(
            "marts", name, render(sql, engine.capabilities.dialect), materialized=kind, **extra
        )


def _contents(engine: Engine, table: str) -> list[list[Any]]:
    answer = engine.query_arrow(f"select * from marts.{table} order by 1")
    return [
        [float(v) if hasattr(v, "as_tuple") else v for v in row.values()]
        for row in answer.to_pylist()
    ]


def test_the_project_builds_on_postgres_with_duckdb_s_contents(pg: Engine, duck: Engine) -> None:
    for _ in range(2):  # the second build: table rebuilt in place, incremental merged
        _build(pg)
        _build(duck)
    for name, _, _ in MODELS:
        assert _contents(pg, name) == _contents(duck, name), name
    kinds = {t: k for _, t, k in pg.tables()}
    assert kinds["stg_orders"] == "VIEW" and kinds["customer_orders"] == "BASE TABLE"


def test_a_partition_is_replaced_alone(pg: Engine) -> None:
    pg.write_table("raw", "orders", ORDERS, materialized="table")
    sql = (
        "select id, day, amount from raw.orders where day >= getvariable('interval_start') "
        "and day < getvariable('interval_end')"
    )
    assert pg.materialize_partition("marts", "p", sql, partition_by="day", interval=None) == 5
    pg.execute("update raw.orders set amount = 0")
    jan2 = (datetime(2024, 1, 2), datetime(2024, 1, 3))
    assert pg.materialize_partition("marts", "p", sql, partition_by="day", interval=jan2) == 2
    rows = pg.execute("select id, amount from marts.p order by id").fetchall()
    assert [(i, float(a)) for i, a in rows] == [(1, 12.5), (2, 0.0), (3, 0.0), (4, 40.1), (5, 5.15)]
    leaky = "select id, day, amount from raw.orders"
    with pytest.raises(EngineError, match="outside the interval"):
        pg.materialize_partition("marts", "p", leaky, partition_by="day", interval=jan2)
    assert pg.execute("select count(*) from marts.p").fetchone() == (5,)


def test_a_query_during_a_rebuild_answers_at_once_from_the_committed_rows(pg: Engine) -> None:
    pg.materialize_sql("marts", "t", "select generate_series(1, 1000) as v", materialized="table")
    in_build = threading.Event()
    release = threading.Event()

    def slow_audit(cur: Any, target: str) -> None:
        in_build.set()
        release.wait(10)

    writer = threading.Thread(
        target=pg.materialize_sql,
        args=("marts", "t", "select generate_series(1, 5) as v"),
        kwargs={"materialized": "table", "audit": slow_audit},
    )
    writer.start()
    try:
        assert in_build.wait(10)
        started = time.monotonic()
        columns, rows = pg.read_query("select count(*) as n from marts.t")
        assert time.monotonic() - started < 2
        assert (columns, rows) == (["n"], [(1000,)])
    finally:
        release.set()
        writer.join()
    assert pg.read_query("select count(*) as n from marts.t")[1] == [(5,)]


def test_the_query_path_is_one_read_only_statement(pg: Engine) -> None:
    pg.materialize_sql("marts", "t", "select 1 as v", materialized="table")
    for sql, why in [
        ("select 1; select 2", "one statement expected"),
        ("delete from marts.t", "only a query"),
        ("select * from marts.t qualify row_number() over () = 1", "QUALIFY with \\*"),
    ]:
        with pytest.raises(EngineError, match=why):
            pg.read_query(sql)
    # a function writing from inside a query is stopped by the READ ONLY transaction
    pg.execute(
        "create function marts.wipe() returns int language sql as 'delete from marts.t returning 1'"
    )
    with pytest.raises(EngineError, match="read-only transaction"):
        pg.read_query("select marts.wipe()")
    assert pg.read_query("select count(*) as n from marts.t", limit=10) == (["n"], [(1,)])


def test_a_failed_rebuild_keeps_the_old_table(pg: Engine) -> None:
    pg.materialize_sql("marts", "t", "select 1 as v", materialized="table")
    with pytest.raises(Exception, match="division by zero"):
        pg.materialize_sql("marts", "t", "select 1 / 0 as v", materialized="table")
    assert pg.execute("select v from marts.t").fetchall() == [(1,)]


def test_a_construct_that_would_answer_differently_fails_at_load_with_its_line() -> None:
    from headwater.engines import sql_validator

    check = sql_validator("postgres")
    problem = check("select *\nfrom raw.orders\nqualify row_number() over () = 1")
    assert (
        problem is not None and "QUALIFY with * does not translate to postgres" in problem.message
    )
    assert check("select dayofweek(day) from raw.orders") is None  # proven by a golden case


def test_interrupt_cancels_the_statement_of_a_thread(pg: Engine) -> None:
    from headwater.engines import errors

    caught: list[BaseException] = []

    def sleeper() -> None:
        try:
            pg.execute("select pg_sleep(30)")
        except BaseException as exc:  # the thread reports what ended its statement
            caught.append(exc)

    thread = threading.Thread(target=sleeper)
    started = time.monotonic()
    thread.start()
    busy = "select count(*) from pg_stat_activity where query = 'SELECT PG_SLEEP(30)'"
    while pg.execute(busy).fetchone() != (1,) and time.monotonic() - started < 10:
        time.sleep(0.05)
    assert thread.ident is not None
    pg.interrupt(thread.ident)
    thread.join(10)
    assert time.monotonic() - started < 10
    assert len(caught) == 1 and isinstance(caught[0], errors.interrupted())


def test_a_task_s_query_is_project_sql(pg: Engine) -> None:
    pg.write_table("raw", "orders", ORDERS, materialized="table")
    answer = pg.to_arrow(pg.relation_of("select dayofweek(day) as dow from raw.orders order by id"))
    assert answer.column("dow").to_pylist() == [1, 2, 2, 3, 0]  # 2024-01-01 was a Monday
