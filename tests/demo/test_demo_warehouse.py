"""The key test: raw layer (emulated) -> staging -> marts -> the four questions, compared
with the generator's ground truth, after batch 1 and after appended batches."""

from __future__ import annotations

import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from demo_raw_emulation import RawLayer, run_models

from headwater.demo.dataset import Dataset
from headwater.demo.questions import QUESTIONS, answers_from_rows, run_questions
from headwater.demo.scaffold import init_project
from headwater.demo.truth import answers
from headwater.demo.writer import append_batch


def _valid(ds: Dataset) -> dict[str, set[tuple[Any, ...]]]:
    """The canonical rows staging must hold, in staging's columns."""
    catalog = {p.sku for p in ds.products}
    orders = {k: o for k, o in ds.orders.items() if o.bad_ordered_at is None}
    return {
        "stg_orders": {
            (o.region, o.id, o.customer_id, o.status, o.ordered_at, o.updated_at, o.currency)
            for o in orders.values()
        },
        "stg_order_items": {
            (i.region, i.order_id, i.line_no, i.sku, i.quantity, i.unit_price)
            for i in ds.items.values()
            if (i.region, i.order_id) in orders and i.quantity > 0 and i.sku in catalog
        },
        "stg_customers": {
            (c.region, c.id, c.email, c.name, c.country, c.created_at, c.updated_at)
            for c in ds.customers.values()
        },
        "stg_cart_events": {
            (e.region, e.id, e.customer_id, e.sku, e.action, e.at) for e in ds.cart_events.values()
        },
    }


_STAGING_COLUMNS = {
    "stg_orders": "region, order_id, customer_id, status, ordered_at, updated_at, currency",
    "stg_order_items": "region, order_id, line_no, sku, quantity, unit_price",
    "stg_customers": "region, customer_id, email, name, country, created_at, updated_at",
    "stg_cart_events": "region, event_id, customer_id, sku, action, event_at",
}


def _staging(con: duckdb.DuckDBPyConnection, model: str) -> set[tuple[Any, ...]]:
    rows = con.execute(f"select {_STAGING_COLUMNS[model]} from staging.{model}").fetchall()
    assert len(rows) == len(set(rows)), f"{model} has duplicate rows"
    return {tuple(Decimal(v).normalize() if isinstance(v, Decimal) else v for v in r) for r in rows}


def _check_warehouse(con: duckdb.DuckDBPyConnection, raw: RawLayer, ds: Dataset) -> None:
    expected = _valid(ds)
    for model, rows in expected.items():
        rows = {
            tuple(Decimal(v).normalize() if isinstance(v, Decimal) else v for v in r) for r in rows
        }
        got = _staging(con, model)
        assert got == rows, (model, sorted(got - rows)[:5], sorted(rows - got)[:5])
    assert sum(raw.rejected.values()) == ds.planted["malformed_line"]
    # marts: keys unique, one fact row per valid item, amounts converted
    n_items = con.execute("select count(*), count(distinct sale_key) from marts.fct_sales")
    assert n_items.fetchone() == (len(expected["stg_order_items"]),) * 2
    missing = con.execute("select count(*) from marts.fct_sales where amount_usd is null")
    assert missing.fetchone() == (0,)
    n_customers = con.execute("select count(*) from marts.customer_features").fetchone()
    assert n_customers == (len(ds.customers),)
    # the four questions
    assert run_questions(con) == answers(ds)


@pytest.fixture(scope="module")
def warehouse(
    demo_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, duckdb.DuckDBPyConnection, RawLayer]:
    project = tmp_path_factory.mktemp("live") / "shop"
    shutil.copytree(demo_project, project)
    con = duckdb.connect()
    raw = RawLayer(con, project)
    raw.load()
    run_models(con, project / "models")
    return project, con, raw


def test_batch_one_answers_match_the_ground_truth(
    warehouse: tuple[Path, duckdb.DuckDBPyConnection, RawLayer], full_ds: Dataset
) -> None:
    _, con, raw = warehouse
    _check_warehouse(con, raw, full_ds)
    raw_asia = con.execute("select count(*), count(distinct id) from raw.asia_orders").fetchone()
    assert raw_asia is not None and raw_asia[0] > raw_asia[1]  # duplicates reach raw
    first = con.execute("select min(ordered_at), max(ordered_at) from marts.fct_sales").fetchone()
    assert first is not None and first[0] >= datetime(2025, 1, 1)
    assert first[1] < datetime(2026, 11, 20)


def test_appended_batches_answers_match_the_ground_truth(tmp_path: Path) -> None:
    """Batch 1 then two appended batches (scale 0.25: the semantics do not depend on it)."""
    project = tmp_path / "shop"
    ds = init_project(project, scale=0.25, seed=7)
    con = duckdb.connect()
    raw = RawLayer(con, project)
    raw.load()
    run_models(con, project / "models")
    _check_warehouse(con, raw, ds)
    before = run_questions(con)
    for number in (2, 3):
        ds = append_batch(project)
        assert len(ds.batches) == number
        extracted = raw.load()
        assert 0 < extracted["europe_orders"] < len(ds.orders) // 10  # incremental, not full
        run_models(con, project / "models")
        _check_warehouse(con, raw, ds)
    after = run_questions(con)
    assert after.units_by_region != before.units_by_region
    assert after.units_by_shade != before.units_by_shade  # returns of last quarter's orders
    assert after.add_then_remove_customers > before.add_then_remove_customers


def test_queries_are_printable_files() -> None:
    for q in QUESTIONS:
        assert q.path.is_file() and q.sql.lstrip().startswith("--")
        assert "marts." in q.sql and "raw." not in q.sql


def test_answers_from_rows_fills_missing_buckets() -> None:
    a = answers_from_rows([("#110", 3)], [("asia", 5), ("europe", 2)], [("hour", 4, 1)], [(0,)])
    assert a.units_by_shade["#110"] == 3 and a.units_by_shade["#490"] == 0
    assert a.top_region == "asia" and a.units_by_region["africa"] == 0
    assert a.units_by_hour[4] == 1 and sum(a.units_by_hour.values()) == 1
    assert a.units_by_weekday == dict.fromkeys(range(1, 8), 0)
    assert a.add_then_remove_customers == 0
