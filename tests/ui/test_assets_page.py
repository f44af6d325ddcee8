"""The asset page and its JSON, in Chromium against a real server: a partitioned model
(two days built, one missing, from two backfills) shows its schema with types and column
lineage, its upstream link (followed: the source's page lists it downstream), its
partitions and its build charts; the source shows its check's history and its loads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from asset_projects import Served, login, partitioned_project, serve

from headwater.testing.cli import invoke


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = partitioned_project(tmp_path_factory.mktemp("assets") / "parts")
    done = invoke("check", "-s", "orders", "-p", str(root))  # the check's second result
    assert done.exit_code == 0, done.output
    served = serve(root)
    yield served
    served.stop()


def _rows(page: Any, table: str) -> list[list[str]]:
    """The cells of the table named ``table`` (its accessible name), row by row."""
    found = page.get_by_role("table", name=table, exact=True)
    cells = found.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
    )
    return list(cells)


def test_a_partitioned_model_shows_schema_lineage_upstream_and_partitions(
    page: Any, parts: Served
) -> None:
    login(page, parts)
    page.goto(parts.url + "/assets/marts.daily_sales")
    assert "Sales per day, built one day at a time." in page.inner_text("main")
    assert _rows(page, "columns") == [
        ["order_date", "DATE", "raw.orders.order_date"],
        ["amount", "HUGEINT", "raw.orders.amount"],
    ]
    assert page.locator("#partitions + p").inner_text() == "2 built, 0 failed, 1 missing"
    page.click("text=3 intervals, newest first")  # the table folds under its count
    intervals = _rows(page, "intervals")
    assert [(r[0][:10], r[1]) for r in intervals] == [
        ("2026-03-03", "built"), ("2026-03-02", "missing"), ("2026-03-01", "built"),
    ]  # fmt: skip
    page.wait_for_selector("#chart-seconds .uplot")  # the build-time chart drew
    assert "select order_date::date" in page.inner_text("#source ~ pre")

    page.click("#upstream a")
    page.wait_for_url("**/assets/raw.orders")
    assert page.locator("#downstream a").all_inner_texts() == ["marts.daily_sales"]

    shown = page.goto(parts.url + "/assets/marts.nope")
    assert shown is not None and shown.status == 404
    assert "no asset 'marts.nope'" in page.inner_text("main")


def test_a_source_shows_its_check_history_and_loads(page: Any, parts: Served) -> None:
    login(page, parts)
    page.goto(parts.url + "/assets/raw.orders")
    checks = _rows(page, "check history")
    assert len(checks) == 2  # the backfill's run and the check run
    for row in checks:
        assert row[1].startswith("customer_present") and row[2] == "warn"
        assert (row[3], row[4]) == ("1", "3")
    loads = _rows(page, "loads")
    # one load (the second backfill found no new file): read, written, rejected, superseded
    assert [row[2:6] for row in loads] == [["3", "3", "0", "0"]]
    schema = {r[0]: r[2] for r in _rows(page, "columns")}
    assert schema["customer"] == "data/*.csv · customer"


def test_the_asset_json_and_lineage_endpoints(parts: Served) -> None:
    with parts.api() as client:
        found = client.get("/api/assets/daily_sales").json()  # a short name works
        lineage = client.get("/api/assets/marts.daily_sales/lineage").json()
        missing = client.get("/api/assets/nope")
    assert found["name"] == "marts.daily_sales" and found["upstream"] == ["raw.orders"]
    assert [p["status"] for p in found["partitions"]] == ["built", "missing", "built"]
    assert [b["status"] for b in found["builds"]] == ["success", "success"]
    assert lineage["columns"][0] == {
        "column": "order_date",
        "type": "DATE",
        "inputs": [{"asset": "raw.orders", "table": "raw.orders", "column": "order_date"}],
    }
    assert missing.status_code == 404 and "no asset 'nope'" in missing.json()["error"]
    assert httpx.get(parts.url + "/api/assets/raw.orders", timeout=30).status_code == 401
