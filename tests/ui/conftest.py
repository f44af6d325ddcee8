"""Fixtures of tests/ui: ONE real ``headwater server`` on 127.0.0.1 for the whole session,
serving a small generated project (``ui_server.PROJECT_FILES``) with three users, one per
role; ONE headless Chromium (Debian's, driven by Playwright; never ``playwright install``);
httpx clients logged in as each role. Helpers (``Session``, ``login``, ``_start``,
``add_user``, the constants) live in ``ui_server.py``: import them from there.

- ``ui_server`` (session): ``.url``, ``.root`` (the project folder), ``.token`` (server.json's,
  acts as admin), ``.api()`` an httpx client with that token.
- ``as_role`` (session): ``as_role("viewer" | "operator" | "admin")`` -> ``Session``, an
  httpx client with that user's session cookie; its ``post``/``delete`` send the CSRF token
  (``csrf=False`` to leave it out).
- ``browser`` (session) and ``page`` (per test: a new context, closed after);
  ``logged_in(role)``: the test's page, logged in through the login form.
- ``firefox`` (session): ONE headless Firefox (Debian's firefox-esr) driven over WebDriver
  BiDi (``headwater.testing.firefox``); ``firefox_tab`` (per test): a tab with cookies of
  its own, closed after.
- ``daily_run`` (session): the id of a finished run of the ``daily`` pipeline (triggered
  once), for tests that need a run page, a runs grid and built assets.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ui_server import (
    CHROMIUM,
    PASSWORDS,
    PROJECT_FILES,
    USERS,
    Session,
    UIServer,
    _shop_db,
    _start,
    add_user,
    login,
)

from headwater.testing.cli import write_project


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UIServer]:
    root = write_project(tmp_path_factory.mktemp("ui") / "shop", PROJECT_FILES, name="uishop")
    _shop_db(root / "data" / "shop.sqlite")
    for role, name in USERS.items():
        add_user(root, name, role, PASSWORDS[role])
    server = _start(root)
    yield server
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(30)
        except subprocess.TimeoutExpired:
            server.proc.kill()


@pytest.fixture(scope="session")
def as_role(ui_server: UIServer) -> Iterator[Callable[[str], Session]]:
    made: dict[str, Session] = {}

    def get(role: str) -> Session:
        if role not in made:
            made[role] = Session(ui_server.url, USERS[role], PASSWORDS[role])
        return made[role]

    yield get
    for session in made.values():
        session.client.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page in its own browser context (its own cookies)."""
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


@pytest.fixture(scope="session")
def firefox() -> Iterator[Any]:
    from headwater.testing.firefox import Firefox

    with Firefox() as started:
        yield started


@pytest.fixture
def firefox_tab(firefox: Any) -> Iterator[Any]:
    """A new Firefox tab in its own user context (its own cookies), closed after."""
    tab = firefox.new_tab()
    yield tab
    tab.close()


@pytest.fixture(scope="session")
def daily_run(as_role: Callable[[str], Session]) -> str:
    """The id of a run of ``daily`` triggered by the operator, once it has succeeded."""
    operator = as_role("operator")
    queued = operator.post("/api/pipelines/daily/trigger")
    assert queued.status_code == 202, queued.text
    run_id: str = queued.json()["run_id"]
    deadline = time.monotonic() + 60
    while (status := operator.get(f"/api/runs/{run_id}").json()["run"]["status"]) in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline, f"run {run_id} still {status} after 60 s"
        time.sleep(0.1)
    assert status == "success", f"run {run_id} of daily: {status}"
    return run_id


@pytest.fixture
def logged_in(page: Any, ui_server: UIServer) -> Callable[[str], Any]:
    """``logged_in(role)``: the test's page, logged in as that role."""

    def make(role: str) -> Any:
        login(page, ui_server, role)
        return page

    return make


os.environ.setdefault("COLUMNS", "200")
