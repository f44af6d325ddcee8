"""Fixtures of tests/ui: ONE real ``headwater server`` on 127.0.0.1 for the whole session,
serving a small generated project (:data:`PROJECT_FILES`) with three users, one per role;
ONE headless Chromium (Debian's, driven by Playwright; never ``playwright install``); httpx
clients logged in as each role.

- ``ui_server`` (session): ``.url``, ``.root`` (the project folder), ``.token`` (server.json's,
  acts as admin), ``.api()`` an httpx client with that token.
- ``as_role`` (session): ``as_role("viewer" | "operator" | "admin")`` -> :class:`Session`,
  an httpx client with that user's session cookie; its ``post``/``put``/``delete`` send the
  CSRF token (``csrf=False`` to leave it out).
- ``browser`` (session) and ``page`` (per test: a new context, closed after); ``login(page,
  role)`` logs that page in through the login form.

The project: a SQLite source ``shop`` (tables customers, orders; a not_null check on
``orders.customer_id`` quarantines one row on each load), models ``marts.customer_orders``
(fine) and ``marts.broken`` (fails at run time: a bad cast), pipelines ``daily`` (scheduled)
and ``broken``; a connection ``secret_pg`` whose URL holds :data:`SECRET` (never used: the
secret-grep test asserts it is never shown).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.testing.cli import write_project

HEADWATER = str(Path(sys.executable).parent / "headwater")
SECRET = "Pw-UiS3cret-4821"
PASSWORDS = {"admin": "admin-pass-1", "operator": "operator-pass-1", "viewer": "viewer-pass-1"}
USERS = {"admin": "ada", "operator": "otto", "viewer": "vera"}  # role -> user name
CHROMIUM = "/usr/bin/chromium"

PROJECT_FILES = {
    "headwater.toml": f"""
[connections.shop]
url = "sqlite:///data/shop.sqlite"
[connections.secret_pg]
url = "postgresql://app:{SECRET}@127.0.0.1:1/shop"

[sources.shop]
connection = "shop"
tables = ["customers", "orders"]
primary_key = ["id"]
write = "replace"

[[sources.shop.table_options.orders.checks]]
type = "not_null"
column = "customer_id"
on_fail = "quarantine"

[pipelines.daily]
select = ["+marts.customer_orders"]
schedule = "0 6 * * *"
catchup = "none"

[pipelines.broken]
select = ["marts.broken"]
""",
    "models/marts/customer_orders.sql": (
        "select c.id, c.name, count(o.id) as orders\n"
        "from raw.shop_customers c left join raw.shop_orders o on o.customer_id = c.id\n"
        "group by c.id, c.name\n"
    ),
    "models/marts/broken.sql": (
        "-- headwater:\n--   materialized: table\nselect cast('not a number' as integer) as n\n"
    ),
}


def _shop_db(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.executescript(
        "create table customers (id integer primary key, name text);"
        "insert into customers values (1, 'Ana'), (2, 'Bo');"
        "create table orders (id integer primary key, customer_id integer, amount real);"
        "insert into orders values (1, 1, 9.5), (2, 2, 3.0), (3, null, 1.0);"
    )
    con.commit()
    con.close()


@dataclass
class UIServer:
    """The session's ``headwater server``."""

    root: Path
    proc: subprocess.Popen[str]
    url: str
    token: str

    def api(self) -> httpx.Client:
        """A client with the server.json token (acts as admin; no CSRF needed)."""
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def _start(root: Path) -> UIServer:
    proc = subprocess.Popen(
        [HEADWATER, "server", "-p", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    path = root / ".headwater" / "server.json"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {proc.stderr.read()}")
        try:
            info = json.loads(path.read_text())
            if info["pid"] == proc.pid:
                httpx.get(info["url"] + "/api/health", timeout=1).raise_for_status()
                return UIServer(root, proc, info["url"], info["token"])
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            pass
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("server not ready in 30 s")


def add_user(root: Path, name: str, role: str, password: str) -> None:
    """``headwater user add NAME --role ROLE --password-stdin`` in its own process."""
    done = subprocess.run(
        [HEADWATER, "user", "add", name, "--role", role, "--password-stdin", "-p", str(root)],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


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


class Session:
    """An httpx client logged in as one user through the login form."""

    def __init__(self, base_url: str, name: str, password: str) -> None:
        self.name = name
        self.client = httpx.Client(base_url=base_url, timeout=30)
        form = self.client.get("/login")
        token = _field(form.text, "csrf_token")
        done = self.client.post(
            "/login", data={"name": name, "password": password, "csrf_token": token}
        )
        assert done.status_code == 303, f"login of {name} failed: {done.status_code}"
        self.csrf = csrf_of(self.client.get("/login", follow_redirects=True).text)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, **kw)

    def post(self, path: str, *, csrf: bool = True, **kw: Any) -> httpx.Response:
        return self.client.post(path, headers=self._headers(csrf), **kw)

    def delete(self, path: str, *, csrf: bool = True, **kw: Any) -> httpx.Response:
        return self.client.delete(path, headers=self._headers(csrf), **kw)

    def _headers(self, csrf: bool) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf} if csrf else {}


def _field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no field {name} in the page"
    return found.group(1)


def csrf_of(html: str) -> str:
    """The CSRF token of a page (its ``<meta name="csrf-token">``)."""
    found = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    assert found, "no csrf-token meta tag in the page"
    return found.group(1)


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


def login(page: Any, server: UIServer, role: str) -> None:
    """Log ``page`` in as the user of ``role`` through the login form; it lands on the
    overview."""
    page.goto(server.url + "/login")
    page.fill("#name", USERS[role])
    page.fill("#password", PASSWORDS[role])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/($|\?)"))


@pytest.fixture
def logged_in(page: Any, ui_server: UIServer) -> Callable[[str], Any]:
    """``logged_in(role)``: the test's page, logged in as that role."""

    def make(role: str) -> Any:
        login(page, ui_server, role)
        return page

    return make


os.environ.setdefault("COLUMNS", "200")
