"""The overview page (``/``) and ``GET /api/overview`` against a real server."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ui_server import Session


def _wait_finished(session: Session, run_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = session.get(f"/api/runs/{run_id}").json()["run"]
        if run["status"] not in ("queued", "running"):
            return dict(run)
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s")


def test_failed_run_shows_as_failed_cell(
    as_role: Callable[[str], Session], logged_in: Callable[[str], Any]
) -> None:
    operator = as_role("operator")
    queued = operator.post("/api/pipelines/broken/trigger")
    assert queued.status_code == 202, queued.text
    run_id = queued.json()["run_id"]
    assert _wait_finished(operator, run_id)["status"] == "failed"

    page = logged_in("viewer")
    cell = page.get_by_label(f"failed: run {run_id}", exact=False)
    assert cell.count() == 1 and cell.is_visible()
    broken_row = page.get_by_role("row").filter(has_text="broken")
    assert broken_row.get_by_label(f"run {run_id}", exact=False).count() == 1
    cell.click()  # the cell is a link to the run's page
    page.wait_for_url(f"**/runs/{run_id}")

    data = as_role("viewer").get("/api/overview").json()
    (broken,) = [p for p in data["pipelines"] if p["name"] == "broken"]
    assert broken["runs"][0]["run_id"] == run_id and broken["runs"][0]["status"] == "failed"
    assert broken["schedule"] is None and broken["next_run"] is None


def test_overview_shows_schedule_freshness_and_quarantine(
    as_role: Callable[[str], Session], logged_in: Callable[[str], Any]
) -> None:
    operator = as_role("operator")
    run_id = operator.post("/api/pipelines/daily/trigger").json()["run_id"]
    assert _wait_finished(operator, run_id)["status"] == "success"
    data = as_role("viewer").get("/api/overview").json()
    (daily,) = [p for p in data["pipelines"] if p["name"] == "daily"]
    assert daily["schedule"] == "0 6 * * * UTC"
    assert daily["next_run"] is not None
    built = {a["asset"]: a["last_success"] for a in daily["assets"]}
    assert built["marts.customer_orders"] is not None
    # the order with no customer went to quarantine on the load
    assert {"table": "quarantine.shop_orders", "rows": 1} in data["quarantined"]

    page = logged_in("viewer")
    assert page.get_by_text("0 6 * * * UTC").is_visible()
    assert page.get_by_text("quarantine.shop_orders").is_visible()
    assert page.get_by_label(f"success: run {run_id}", exact=False).count() == 1
