"""The store case study end to end: the demo's four answers equal the ground truth computed
independently (in Python) from the generator's records, before and after an append."""

from __future__ import annotations

import sqlite3

import duckdb
import pytest

from headwater.demo.generator import build_dataset
from headwater.demo.questions import run_questions
from headwater.demo.truth import answers
from headwater.testing.cli import invoke

pytestmark = pytest.mark.slow

SCALE = 0.3


def warehouse_answers(root):
    con = duckdb.connect(str(root / ".headwater/warehouse.duckdb"), read_only=True)
    try:
        return run_questions(con)
    finally:
        con.close()


def planted_found(root) -> dict[str, int]:
    """Bad records the pipeline set aside, per planted kind."""
    con = duckdb.connect(str(root / ".headwater/warehouse.duckdb"), read_only=True)
    try:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'quarantine'"
            ).fetchall()
        ]
        by_check: dict[str, int] = {}
        for table in tables:
            for check, n in con.execute(
                f'select _hw_check, count(*) from quarantine."{table}" group by 1'
            ).fetchall():
                by_check[check] = by_check.get(check, 0) + n
        malformed = con.execute("select count(*) from _headwater.rejected_rows").fetchone()
        # a re-sent order row is superseded by its later copy: counted, not rejected
        superseded = con.execute(
            "select sum(rows_superseded) from _headwater.loads where asset like '%orders'"
        ).fetchone()
    finally:
        con.close()
    return {
        "unparseable_date": by_check.get("parseable_ordered_at", 0),
        "negative_quantity": by_check.get("positive_quantity", 0),
        "unknown_sku": by_check.get("known_sku", 0),
        "duplicate_order_id": int(superseded[0] or 0) if superseded else 0,
        "malformed_line": int(malformed[0]) if malformed else 0,
    }


def test_demo_answers_match_ground_truth_then_append_loads_only_new_rows(tmp_path):
    root = tmp_path / "demo"
    first = invoke("demo", "--dir", str(root), "--scale", str(SCALE))
    assert first.exit_code == 0, first.output
    assert "match the generator's ground truth" in first.stdout
    truth = answers(build_dataset(scale=SCALE, seed=7, batches=1))
    got = warehouse_answers(root)
    assert got == truth
    # every planted bad record is set aside with its reason, exactly as many as planted
    assert planted_found(root) == build_dataset(scale=SCALE, seed=7, batches=1).planted
    assert sum(got.units_by_shade.values()) > 0 and got.add_then_remove_customers > 0
    # checks on every layer (docs/case-study.md): raw quarantines the planted records; staging
    # and marts (keys, relationships, accepted values) pass
    with sqlite3.connect(root / ".headwater/metastore.sqlite") as meta:
        results = meta.execute("select asset, status, quarantined from check_results").fetchall()
    assert {asset.split(".")[0] for asset, _, _ in results} == {"raw", "staging", "marts"}
    assert all(status == "pass" for _, status, quarantined in results if not quarantined)
    assert sum(1 for asset, _, _ in results if asset.startswith("marts.")) >= 10

    appended = invoke("demo", "--dir", str(root), "--append")
    assert appended.exit_code == 0, appended.output
    both = build_dataset(scale=SCALE, seed=7, batches=2)
    assert warehouse_answers(root) == answers(both)
    assert planted_found(root) == both.planted
    con = duckdb.connect(str(root / ".headwater/warehouse.duckdb"), read_only=True)
    try:
        loads = [
            n
            for (n,) in con.execute(
                "select rows_read from _headwater.loads where asset = 'raw.europe_orders' order by loaded_at"
            ).fetchall()
        ]
        orders = con.execute("select count(*) from raw.europe_orders").fetchone()[0]
    finally:
        con.close()
    assert len(loads) == 2
    assert loads[0] > 1000
    assert 0 < loads[1] < orders / 10  # the append run read only new and updated rows


def test_real_databases_give_the_same_answers_as_embedded(tmp_path):
    """Europe in PostgreSQL, North America in MariaDB (servers on 127.0.0.1)."""
    embedded, real = tmp_path / "embedded", tmp_path / "real"
    assert invoke("demo", "--dir", str(embedded), "--scale", "0.2").exit_code == 0
    result = invoke("demo", "--dir", str(real), "--scale", "0.2", "--databases", "real")
    assert result.exit_code == 0, result.output
    assert "PostgreSQL (Europe) and MariaDB (North America)" in result.stdout
    toml = (real / "headwater.toml").read_text()
    assert "postgresql://headwater:${HW_DEMO_PG_PASSWORD}@" in toml and "mysql://" in toml
    assert "[sources.catalog.rest]" in toml  # the product catalog: a REST API
    assert warehouse_answers(real) == warehouse_answers(embedded)
    assert planted_found(real) == planted_found(embedded)
