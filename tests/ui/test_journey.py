"""End to end on the store demo (``headwater demo`` at scale 0.05, its ``daily`` pipeline
given a schedule so the backfill page has one), in the session's one Chromium.

An operator logs in, finds the planted unknown SKU ``SML-111`` quarantined by the North
American order items' ``known_sku`` check and opens the check's history on the asset page;
adds the product to the catalog (the honest fix: the catalog lacked it), triggers the
pipeline from the overview and watches the run finish live on its page, reads the catalog
step's log, then releases the quarantined row, which now passes and is loaded. A query is
run and charted. A viewer sees no operator button and is refused (403); logged out, pages
lead to the login page and the API answers 401.

Every page visited is saved as a PNG at a fixed viewport: into ``docs/images/`` when
``HEADWATER_SCREENSHOTS=1`` (how the docs' images are made), else into the test's tmp_path.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asset_projects import HEADWATER, Served
from served_roles import login_as, serve_with_roles, session_as

pytestmark = pytest.mark.slow

SCALE = 0.05
VIEWPORT = {"width": 1280, "height": 800}
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
NA_ITEMS = "raw.north_america_order_items"
MISSING_PRODUCT = {  # the planted unknown SKU of North America's first batch (seed 7)
    "sku": "SML-111",
    "name": "Stunna Lip Paint Longwear Fluid Lip Color",
    "line": "lip",
    "shade": "Uncensored",
    "base_price_usd": 26.0,
}
UNITS_SQL = (
    "select region, sum(quantity) as units from marts.fct_sales where is_sold "
    "group by region order by units desc"
)
PAGES = (  # logged out, each of these leads to the login page
    "/", "/runs", "/graph", "/quarantine", "/query", "/backfill", "/store",
    "/assets/marts.fct_sales",
)  # fmt: skip
API = ("/api/overview", "/api/runs", "/api/grid", "/api/graph", "/api/store")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("journey") / "demo"
    made = subprocess.run(
        [HEADWATER, "demo", "--dir", str(root), "--scale", str(SCALE)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    toml = root / "headwater.toml"  # daily is its last table; days from midnight to midnight
    toml.write_text(toml.read_text() + 'schedule = "0 0 * * *"\ncatchup = "none"\n')
    server = serve_with_roles(root)
    yield server
    server.stop()


@pytest.fixture
def screen(browser: Any) -> Iterator[Any]:
    """A page of its own context at :data:`VIEWPORT` (the screenshots' fixed size)."""
    context = browser.new_context(viewport=VIEWPORT)
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    yield opened
    context.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the screenshots go (docs/images only when asked)."""
    if os.environ.get("HEADWATER_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(exist_ok=True)
        return DOCS_IMAGES
    return tmp_path


def _shot(page: Any, folder: Path, name: str) -> None:
    page.mouse.move(0, 0)  # no hover state in the picture
    path = folder / f"ui-{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size < 200_000, f"{path.name} is {path.stat().st_size} bytes"


def _rows(page: Any, table: str) -> list[dict[str, str]]:
    found = page.get_by_role("table", name=table, exact=True)
    heads = found.locator("thead th").all_inner_texts()
    cells = found.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
    )
    return [dict(zip(heads, row, strict=False)) for row in cells]


def _in_table(served: Served, sql: str) -> list[list[Any]]:
    with served.api() as api:
        found = api.post("/api/query", json={"sql": sql})
    assert found.status_code == 200, found.text
    rows: list[list[Any]] = found.json()["rows"]
    return rows


def test_an_operator_fixes_the_catalog_runs_the_pipeline_and_releases_the_row(
    demo: Served, screen: Any, shots: Path
) -> None:
    page = screen
    login_as(page, demo, "operator")
    assert page.locator("tr[data-pipeline=daily]").is_visible()

    # the quarantine: the North American order item with the unknown SKU, and its check
    page.goto(demo.url + "/quarantine")
    page.wait_for_selector("table[aria-label='quarantined assets']")
    _shot(page, shots, "quarantine")
    page.goto(f"{demo.url}/quarantine?asset={NA_ITEMS}&check=known_sku")
    held = _rows(page, "quarantined rows")
    assert [(r["sku"], r["check"]) for r in held] == [("SML-111", "known_sku")]
    order_id = held[0]["order_id"]
    page.goto(f"{demo.url}/assets/{NA_ITEMS}")
    history = page.locator("tr", has_text="known_sku").first
    assert "1 of" in history.inner_text() and "quarantined" in history.inner_text()
    assert "warn" in history.inner_text()  # quarantined, not failed: the load went on

    # the fix: the product was missing from the catalog; the next run reloads the catalog
    catalog = demo.root / "catalog" / "products.jsonl"
    catalog.write_text(catalog.read_text() + json.dumps(MISSING_PRODUCT) + "\n")
    page.goto(demo.url + "/")
    page.get_by_role("button", name="Trigger daily").click()
    page.wait_for_url(re.compile(r".*/runs/\d{8}T"))
    run_id = page.url.rsplit("/", 1)[1]
    seen = {page.inner_text("#run-status")}
    while (status := page.inner_text("#run-status")) not in ("success", "failed"):
        seen.add(status)  # htmx swaps the page's live part every 2 s
        page.wait_for_timeout(200)
    assert status == "success" and seen & {"queued", "running"}  # followed live
    assert page.locator("#steps tr[data-step] .status.success").count() > 20
    _shot(page, shots, "run")

    page.locator("#step-raw\\.catalog_products").get_by_role("button", name="Log").click()
    page.wait_for_function("document.getElementById('log-state').textContent.includes('complete')")
    log = page.inner_text("#log-text")
    assert "new or changed files of catalog/products.jsonl" in log
    assert re.search(r"(\d+) rows read, \1 written", log)

    # release: the row passes known_sku now, and is loaded into the asset
    page.goto(f"{demo.url}/quarantine?asset={NA_ITEMS}&check=known_sku")
    page.click("a:text('Release 1…')")
    page.click("button:text('Yes, release 1 row')")
    assert page.inner_text("#done") == f"Released 1 row into {NA_ITEMS}."
    loaded = _in_table(demo, f"select sku from {NA_ITEMS} where order_id = {order_id}")
    assert ["SML-111"] in loaded

    # the runs grid (both runs) and the pipeline's run in it
    page.goto(demo.url + "/runs")
    page.wait_for_selector("#grid[data-geometry]", state="attached")
    assert page.get_by_role("link", name=run_id).count() >= 1

    # a query, charted
    page.goto(demo.url + "/query")
    page.fill("#sql", UNITS_SQL)
    page.click("button:text('Run')")
    page.wait_for_selector("table[aria-label=result]")
    regions = page.locator("table[aria-label=result] tbody tr td:first-child").all_inner_texts()
    assert sorted(regions) == ["africa", "asia", "europe", "north_america"]
    page.select_option("#chart-form select[name=kind]", "bar")
    page.click("#chart-form button")
    page.wait_for_selector("#query-chart .uplot canvas")
    assert page.inner_text("#chart-status") == "Drew a bar chart of units by region."
    _shot(page, shots, "query")


def test_the_other_pages_in_pictures(demo: Served, screen: Any, shots: Path) -> None:
    """The asset page, the graph, the store, a backfill, then the runs grid and the overview
    with the runs so far, as an operator sees them."""
    page = screen
    login_as(page, demo, "operator")
    page.goto(demo.url + "/assets/marts.fct_sales")
    page.wait_for_selector(".uplot canvas")
    assert page.get_by_text("amount_usd").first.is_visible()
    _shot(page, shots, "asset")

    page.goto(demo.url + "/graph?focus=marts.fct_sales")
    page.wait_for_function("window.hwGraph && window.hwGraph.timings.firstDraw !== null")
    _shot(page, shots, "graph")

    page.goto(demo.url + "/store")
    for n in range(4):
        page.locator("#store-charts figure").nth(n).locator(".uplot canvas").first.wait_for()
    _shot(page, shots, "store")

    page.goto(demo.url + "/backfill")
    page.select_option("#pipeline", "daily")
    page.fill("#start", "2026-11-01")
    page.fill("#end", "2026-11-03")
    page.select_option("#reprocess", "missing")
    page.click("button:text('Start backfill')")
    assert page.inner_text("#started") == "Backfill of daily started: 2 intervals queued."
    page.wait_for_selector("#progress-done", timeout=180_000)
    assert re.search(r"2 intervals:\s*success 2", page.inner_text("#progress-counts"))
    _shot(page, shots, "backfill")

    page.goto(demo.url + "/runs")
    page.wait_for_selector("#grid[data-geometry]", state="attached")
    _shot(page, shots, "runs")
    page.goto(demo.url + "/")
    assert page.locator("tr[data-pipeline=daily] .cell.success").count() >= 2
    _shot(page, shots, "overview")


def test_a_viewer_sees_no_operator_button_and_is_refused(demo: Served, screen: Any) -> None:
    page = screen
    login_as(page, demo, "viewer")
    assert page.locator("tr[data-pipeline=daily]").is_visible()
    assert page.get_by_role("button", name=re.compile("^Trigger")).count() == 0
    with demo.api() as api:
        run_id = api.get("/api/runs", params={"limit": 1}).json()[0]["run_id"]
    page.goto(f"{demo.url}/runs/{run_id}")
    assert page.locator("#steps").is_visible()
    assert page.locator("#run-actions button").count() == 0
    page.goto(f"{demo.url}/quarantine?asset=raw.europe_orders")
    assert page.get_by_role("table", name="quarantined rows", exact=True).is_visible()
    assert page.get_by_text(re.compile(r"^(Release|Discard) \d")).count() == 0
    viewer = session_as(demo, "viewer")
    try:
        refused = viewer.post("/api/pipelines/daily/trigger")
        assert refused.status_code == 403 and "operator" in refused.json()["error"]
        assert viewer.post(f"/api/runs/{run_id}/retry").status_code == 403
    finally:
        viewer.client.close()
    with demo.api() as api:  # nothing was queued by the refused trigger
        assert api.get("/api/runs", params={"limit": 1}).json()[0]["run_id"] == run_id


def test_logged_out_pages_lead_to_login_and_the_api_answers_401(demo: Served, screen: Any) -> None:
    with httpx.Client(base_url=demo.url, timeout=30) as anonymous:
        for path in PAGES:
            found = anonymous.get(path)
            assert found.status_code in (302, 303, 307), path
            assert "/login" in found.headers["location"], path
        for path in API:
            refused = anonymous.get(path)
            assert refused.status_code == 401, path
            assert refused.json()["error"], path
        assert anonymous.post("/api/pipelines/daily/trigger").status_code == 401
    screen.goto(demo.url + "/runs")
    assert re.search(r"/login", screen.url)
    assert screen.locator("#password").is_visible()
