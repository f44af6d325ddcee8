"""The correlated golden cases on PostgreSQL run as joins, not as written: their answers
(test_golden.py) prove the rewrite of :mod:`headwater.engines.postgres.decorrelate`, not
its fallback. A construct it must leave as written is left so."""

from __future__ import annotations

import pytest

from golden.golden_runner import CASES, SCHEMA, load_case
from headwater.engines import Engine
from headwater.engines.dialects import render
from headwater.engines.postgres.decorrelate import decorrelated

REWRITTEN = [
    "correlated_scalar",
    "correlated_empty_groups",
    "correlated_exists",
    "correlated_comma_join",
]


def _setup(engine: Engine, name: str) -> str:
    case = load_case(CASES / f"{name}.yml")
    engine.ensure_schemas({SCHEMA})
    for table, rows in case.tables.items():
        engine.write_table(SCHEMA, table, rows, materialized="table")
    return render(case.query, "postgres")


def _plan(engine: Engine, sql: str) -> str:
    cur = engine._pg()  # type: ignore[attr-defined]
    rows = cur.execute(f"explain {sql}").fetchall()
    return "\n".join(str(r[0]) for r in rows)


@pytest.mark.parametrize("name", REWRITTEN)
def test_a_correlated_subquery_runs_as_a_join(postgres_golden: Engine, name: str) -> None:
    sql = _setup(postgres_golden, name)
    assert "SubPlan" in _plan(postgres_golden, sql)  # as written: once per outer row
    rewritten = decorrelated(postgres_golden._pg(), sql)  # type: ignore[attr-defined]
    assert rewritten != sql
    assert "SubPlan" not in _plan(postgres_golden, rewritten)


@pytest.mark.parametrize("name", ["correlated_in", "correlated_mixed"])
def test_a_rewrite_that_would_answer_differently_leaves_the_query_as_written(
    postgres_golden: Engine, name: str
) -> None:
    """IN over a correlated select of a non-key value needs array functions PostgreSQL
    lacks; an uncorrelated scalar beside the correlated one would become a CROSS JOIN that
    removes every row when it finds none."""
    sql = _setup(postgres_golden, name)
    assert decorrelated(postgres_golden._pg(), sql) == sql  # type: ignore[attr-defined]


def test_exists_alone_is_left_to_postgresql(postgres_golden: Engine) -> None:
    """PostgreSQL plans a correlated EXISTS as a semi join itself, faster than the
    rewrite's grouped join."""
    _setup(postgres_golden, "correlated_exists")
    sql = (
        "select c.region from golden.customers c where not exists "
        "(select 1 from golden.sales s where s.cust = c.cust)"
    )
    assert "SubPlan" not in _plan(postgres_golden, sql)
    assert decorrelated(postgres_golden._pg(), sql) == sql  # type: ignore[attr-defined]


def test_a_table_without_its_schema_leaves_the_query_as_written(
    postgres_golden: Engine,
) -> None:
    sql = _setup(postgres_golden, "correlated_scalar")
    sql = sql.replace("golden.sales AS i", "sales AS i")
    assert sql.count("sales AS i") == 3
    assert decorrelated(postgres_golden._pg(), sql) == sql  # type: ignore[attr-defined]


def test_the_rewritten_query_keeps_postgresql_s_column_names(postgres_golden: Engine) -> None:
    """Qualifying names an unnamed expression ``_col_0``; a model's table must keep the
    columns PostgreSQL names (``?column?``, ``upper``) and the rows."""
    _setup(postgres_golden, "correlated_scalar")
    sql = (
        "select s.id, s.amount * 2, upper(s.cust) from golden.sales s where s.amount > "
        "(select avg(i.amount) from golden.sales i where i.cust = s.cust) order by s.id"
    )
    cur = postgres_golden._pg()  # type: ignore[attr-defined]
    rewritten = decorrelated(cur, sql)
    assert rewritten != sql
    answers = [cur.execute(q).fetch_arrow() for q in (sql, rewritten)]
    assert answers[0].column_names == answers[1].column_names == ["id", "?column?", "upper"]
    assert (
        answers[0].to_pylist()
        == answers[1].to_pylist()
        == [{"id": 3, "?column?": 60, "upper": "A"}]
    )


@pytest.mark.parametrize("materialized", ["table", "view"])
def test_a_model_is_built_with_the_join(postgres_golden: Engine, materialized: str) -> None:
    """A view's definition holds the join (a table's rows are its answer)."""
    _setup(postgres_golden, "correlated_scalar")
    sql = (
        "select s.id from golden.sales s where s.amount = "
        "(select max(i.amount) from golden.sales i where i.cust = s.cust)"
    )
    postgres_golden.materialize_sql("golden", "top_sales", sql, materialized=materialized)
    if materialized == "view":
        assert "SubPlan" not in _plan(postgres_golden, "select * from golden.top_sales")
    answer = postgres_golden.query_arrow("select id from golden.top_sales order by id")
    assert answer.column("id").to_pylist() == [3, 4, 5, 8]
