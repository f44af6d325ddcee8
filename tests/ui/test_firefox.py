"""The web UI in Firefox (Debian's firefox-esr, headless, over WebDriver BiDi: the session's
one ``firefox``), against the session's server after one run of ``daily``.

Covered: logging in through the form with the keyboard alone; every page loads with no JS
error nor console error and its main content rendered, the canvases drawn (the runs grid's
and the graph's success cells in the success colour, the asset page's and the query page's
uPlot charts); Tab reaches the skip link, the navigation in order, then each page's main
action, and Enter follows links; at 400 px wide no page scrolls sideways. The same keyboard
and narrow-window checks run in Chromium in ``test_keyboard_narrow.py``.
"""

from __future__ import annotations

from typing import Any

from page_checks import (
    ASSET,
    NARROW,
    SUCCESS_RGB,
    FirefoxDriver,
    canvas_pixels,
    check_enter_follows_links,
    check_keyboard_order,
    check_narrow,
    pages,
)
from ui_server import PASSWORDS, USERS, UIServer


def login(tab: Any, server: UIServer, role: str) -> None:
    """Log in through the form with the keyboard alone: the name field has the focus on
    load; type, Tab to the password, type, Enter submits; the overview opens."""
    tab.navigate(server.url + "/login")
    tab.wait_for("document.activeElement && document.activeElement.id === 'name'")
    tab.type(USERS[role])
    tab.press("Tab")
    tab.type(PASSWORDS[role])
    before = tab.loads()
    tab.press("Enter")
    tab.wait_load(before)
    assert tab.evaluate("location.pathname") == "/"


def test_log_in_through_the_form_with_the_keyboard(firefox_tab: Any, ui_server: UIServer) -> None:
    login(firefox_tab, ui_server, "viewer")
    who = firefox_tab.evaluate("document.querySelector('.who').innerText")
    assert USERS["viewer"] in who and "viewer" in who
    assert firefox_tab.errors() == []


def test_every_page_loads_without_js_errors_and_draws(
    firefox_tab: Any, ui_server: UIServer, daily_run: str
) -> None:
    tab = firefox_tab
    login(tab, ui_server, "operator")
    driver = FirefoxDriver(tab)
    drawn: dict[str, int] = {}
    for page in pages(daily_run):
        tab.navigate(ui_server.url + page.path)
        assert tab.wait_for(page.ready), page.name
        if page.name == "runs grid":
            drawn[page.name] = canvas_pixels(driver, "#grid", SUCCESS_RGB)
        elif page.name == "graph":
            drawn[page.name] = canvas_pixels(driver, "#graph", SUCCESS_RGB)
        elif page.name == "asset":
            drawn[page.name] = canvas_pixels(driver, "#chart-seconds .uplot canvas")
        elif page.name == "query":  # the chart form's defaults: id against orders, as bars
            tab.evaluate("document.querySelector('#chart-form button').click()")
            tab.wait_for("document.querySelector('#query-chart .uplot canvas')")
            drawn[page.name] = canvas_pixels(driver, "#query-chart .uplot canvas")
        assert tab.errors() == [], f"{page.name}: {tab.errors()}"
    assert all(n > 0 for n in drawn.values()), drawn
    assert set(drawn) == {"runs grid", "graph", "asset", "query"}


def test_tab_reaches_navigation_then_main_action_and_enter_follows(
    firefox_tab: Any, ui_server: UIServer, daily_run: str
) -> None:
    login(firefox_tab, ui_server, "operator")
    driver = FirefoxDriver(firefox_tab)
    for page in pages(daily_run):
        if page.action:
            check_keyboard_order(driver, ui_server.url, page)
    check_enter_follows_links(driver, ui_server.url)
    assert firefox_tab.errors() == []


def test_no_page_scrolls_sideways_in_a_narrow_window(
    firefox_tab: Any, ui_server: UIServer, daily_run: str
) -> None:
    firefox_tab.set_viewport(*NARROW)
    login(firefox_tab, ui_server, "operator")
    driver = FirefoxDriver(firefox_tab)
    for page in pages(daily_run):
        check_narrow(driver, ui_server.url, page)


def test_the_runs_grid_and_the_graph_answer_the_keyboard(
    firefox_tab: Any, ui_server: UIServer, daily_run: str
) -> None:
    """Arrow keys walk the runs grid to the daily run's model cell, Enter opens that run at
    that step; on the graph "/" focuses the search, Enter there selects the asset, and
    Enter on the drawing opens the asset's page."""
    tab = firefox_tab
    login(tab, ui_server, "viewer")
    tab.navigate(ui_server.url + "/runs")
    tab.wait_for("document.querySelector('#grid[data-geometry]')")
    data = tab.evaluate("JSON.parse(document.getElementById('grid-data').textContent)")
    column = [r["run_id"] for r in data["runs"]].index(daily_run)
    row = data["steps"].index(ASSET)
    tab.evaluate("document.getElementById('grid').focus()")
    tab.press(*["ArrowRight"] * column, *["ArrowDown"] * row)
    status = tab.evaluate("document.getElementById('grid-status').textContent")
    assert f"run {daily_run}" in status and f"{ASSET}: success" in status, status
    before = tab.loads()
    tab.press("Enter")
    tab.wait_load(before)
    assert tab.evaluate("location.pathname + location.hash") == f"/runs/{daily_run}#step-{ASSET}"

    tab.navigate(ui_server.url + "/graph")
    tab.wait_for("window.hwGraph && window.hwGraph.timings.firstDraw !== null")
    tab.press("/")
    assert tab.evaluate("document.activeElement.id") == "graph-find"
    tab.type("customer_orders")
    tab.press("Enter")
    assert tab.wait_for("document.getElementById('sel-name').textContent") == ASSET
    tab.evaluate("document.getElementById('graph').focus()")
    before = tab.loads()
    tab.press("Enter")
    tab.wait_load(before)
    assert tab.evaluate("location.pathname") == f"/assets/{ASSET}"
    assert tab.errors() == []
