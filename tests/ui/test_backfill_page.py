"""The backfill page against a server of its own project (a daily pipeline over a files
source and a model): an operator starts a backfill of three days from the page, and the
page's progress, refreshed by htmx, shows the intervals queued, then each run by the
server's scheduler to success, with their runs; a viewer sees the progress but no start
button and is refused the POST; a bad range is said in one line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from asset_projects import Served
from served_roles import login_as, serve_with_roles, session_as

from headwater.testing.cli import write_project

FILES = {
    "headwater.toml": """
[sources.orders]
files = "data/*.csv"
primary_key = ["id"]

[pipelines.daily]
select = ["orders+"]
schedule = "0 0 * * *"
catchup = "none"
""",
    "data/orders.csv": "id,amount\n1,10\n2,20\n",
    "models/marts/totals.sql": "select count(*) as orders, sum(amount::integer) as amount\nfrom orders\n",
}
DAYS = ["2026-03-01", "2026-03-02", "2026-03-03"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = write_project(tmp_path_factory.mktemp("backfill") / "shop", FILES, name="bshop")
    server = serve_with_roles(root)
    yield server
    server.stop()


def _statuses(page: Any) -> list[tuple[str, str]]:
    rows = page.get_by_role("table", name="intervals", exact=True).locator("tbody tr")
    cells = rows.evaluate_all("rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))")
    return [(row[0][:10], row[2]) for row in cells]


def test_a_viewer_sees_no_start_button_and_is_refused(served: Served, page: Any) -> None:
    login_as(page, served, "viewer")
    page.goto(served.url + "/backfill")
    assert page.get_by_role("button", name="Start backfill").count() == 0
    viewer = session_as(served, "viewer")
    try:
        refused = viewer.post(
            "/backfill", data={"pipeline": "daily", "start": DAYS[0], "end": "2026-03-04"}
        )
    finally:
        viewer.client.close()
    assert refused.status_code == 403
    with served.api() as api:
        nothing = api.get(
            "/api/pipelines/daily/intervals", params={"start": DAYS[0], "end": "2026-03-04"}
        ).json()
    assert nothing["counts"] == {"missing": 3}


def test_a_bad_range_is_said_in_one_line(served: Served, page: Any) -> None:
    login_as(page, served, "operator")
    page.goto(served.url + "/backfill")
    page.fill("#start", "2026-03-04")
    page.fill("#end", "2026-03-01")
    page.click("button:text('Start backfill')")
    error = page.inner_text("#backfill-error")
    assert "must be after" in error and "\n" not in error


def test_a_backfill_started_from_the_page_runs_its_intervals(served: Served, page: Any) -> None:
    login_as(page, served, "operator")
    page.goto(served.url + "/backfill")
    page.select_option("#pipeline", "daily")
    page.fill("#start", DAYS[0])
    page.fill("#end", "2026-03-04")
    page.select_option("#reprocess", "missing")
    page.click("button:text('Start backfill')")
    assert page.inner_text("#started") == "Backfill of daily started: 3 intervals queued."
    assert [day for day, _ in _statuses(page)] == DAYS
    # the scheduler runs them one after another; htmx refreshes the table meanwhile
    page.wait_for_selector("#progress-done", timeout=90_000)
    assert _statuses(page) == [(day, "success") for day in DAYS]
    assert re.search(r"3 intervals:\s*success 3", page.inner_text("#progress-counts"))
    runs = page.get_by_role("table", name="intervals").locator("tbody a").all_inner_texts()
    assert len(set(runs)) == 3
    with served.api() as api:
        for run_id in runs:
            run = api.get(f"/api/runs/{run_id}").json()
            assert run["run"]["status"] == "success" and run["run"]["trigger"] == "schedule"
        progress = api.get(
            "/api/pipelines/daily/intervals", params={"start": DAYS[0], "end": "2026-03-04"}
        ).json()
    assert progress["done"] is True and progress["counts"] == {"success": 3}

    page.click("button:text('Start backfill')")  # again, missing: nothing left to run
    assert page.inner_text("#started") == "Backfill of daily started: 0 intervals queued."
