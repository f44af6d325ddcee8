"""The store page: served from a small ``headwater demo`` (scale 0.05), it charts the four
answers, equal to the demo generator's ground truth, and redraws them after a new run; any
other project's page says it is for the demo project."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asset_projects import HEADWATER, Served
from served_roles import login_as, serve_with_roles
from ui_server import Session

from headwater.demo.generator import build_dataset
from headwater.demo.runner import SEED
from headwater.demo.truth import answers

SCALE = 0.05


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("store") / "demo"
    made = subprocess.run(
        [HEADWATER, "demo", "--dir", str(root), "--scale", str(SCALE)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    server = serve_with_roles(root)
    yield server
    server.stop()


def test_the_four_answers_equal_the_ground_truth(demo: Served) -> None:
    with demo.api() as api:
        got = api.get("/api/store").json()
    truth = answers(build_dataset(scale=SCALE, seed=SEED))
    assert got["units_by_shade"] == truth.units_by_shade
    assert got["units_by_region"] == truth.units_by_region
    assert got["top_region"] == truth.top_region
    assert got["units_by_hour"] == {str(h): n for h, n in truth.units_by_hour.items()}
    assert list(got["units_by_weekday"].values()) == list(truth.units_by_weekday.values())
    assert got["add_then_remove_customers"] == truth.add_then_remove_customers
    assert len(got["questions"]) == 4 and got["run_id"]


def test_the_store_page_charts_them_and_redraws_after_a_run(demo: Served, page: Any) -> None:
    login_as(page, demo, "viewer")
    page.goto(demo.url + "/store")
    figures = page.locator("#store-charts figure")
    assert figures.count() == 4
    for n in range(4):
        figures.nth(n).locator(".uplot canvas").first.wait_for()
    truth = answers(build_dataset(scale=SCALE, seed=SEED))
    assert page.inner_text("#top-region") == truth.top_region
    assert page.inner_text("#q4-answer") == str(truth.add_then_remove_customers)
    before = page.inner_text("#store-run")

    with demo.api() as api:
        run_id = api.post("/api/runs", json={}).json()["run_id"]
        deadline = time.monotonic() + 180
        while api.get(f"/api/runs/{run_id}").json()["run"]["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, "the run did not finish in 180 s"
            time.sleep(0.5)
    # the page asks again every few seconds and redraws for the newer run
    page.wait_for_function(
        "id => document.getElementById('store-run').textContent.includes(id)", arg=run_id
    )
    assert page.inner_text("#store-run") != before
    for n in range(4):
        assert figures.nth(n).locator(".uplot").count() >= 1


def test_another_projects_page_says_it_is_for_the_demo(
    as_role: Callable[[str], Session],
) -> None:
    viewer = as_role("viewer")
    found = viewer.get("/store")
    assert found.status_code == 200
    assert "This page is for the demo project" in found.text
    missing = viewer.get("/api/store")
    assert missing.status_code == 404 and "not the store demo" in missing.json()["error"]
