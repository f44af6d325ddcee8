"""Keyboard and narrow-window checks of every page in Chromium (the session's one, through
Playwright), the same checks ``test_firefox.py`` runs in Firefox (``page_checks.py``): Tab
reaches the skip link, the navigation in order, then each page's main action, Enter
follows links; at 400 px wide no page scrolls sideways."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from page_checks import (
    NARROW,
    PlaywrightDriver,
    check_enter_follows_links,
    check_keyboard_order,
    check_narrow,
    pages,
)
from ui_server import UIServer


def test_tab_reaches_navigation_then_main_action_and_enter_follows(
    logged_in: Callable[[str], Any], ui_server: UIServer, daily_run: str
) -> None:
    driver = PlaywrightDriver(logged_in("operator"))
    for page in pages(daily_run):
        if page.action:
            check_keyboard_order(driver, ui_server.url, page)
    check_enter_follows_links(driver, ui_server.url)


def test_no_page_scrolls_sideways_in_a_narrow_window(
    logged_in: Callable[[str], Any], ui_server: UIServer, daily_run: str
) -> None:
    page = logged_in("operator")
    driver = PlaywrightDriver(page)
    driver.viewport(*NARROW)
    for spec in pages(daily_run):
        check_narrow(driver, ui_server.url, spec)
