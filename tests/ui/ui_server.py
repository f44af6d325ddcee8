"""Helpers of tests/ui (imported by name: ``from ui_server import ...``; a test module
cannot import ``conftest``, several test folders have one): the generated project
(:data:`PROJECT_FILES`, its SQLite source), its users (:data:`USERS`, :data:`PASSWORDS`),
:func:`_start` a real ``headwater server`` on 127.0.0.1, :func:`add_user` through the CLI,
:class:`Session` an httpx client logged in through the login form, :func:`csrf_of`,
:func:`login` a Playwright page. The fixtures built on them are in ``conftest.py``.

The project: a SQLite source ``shop`` (tables customers, orders; a not_null check on
``orders.customer_id`` quarantines one row on each load), models ``marts.customer_orders``
(fine) and ``marts.broken`` (fails at run time: a bad cast), pipelines ``daily`` (scheduled)
and ``broken``; a connection ``secret_pg`` whose URL holds :data:`SECRET` (never used: the
secret-grep test asserts it is never shown).
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

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


def login(page: Any, server: UIServer, role: str) -> None:
    """Log ``page`` in as the user of ``role`` through the login form; it lands on the
    overview."""
    page.goto(server.url + "/login")
    page.fill("#name", USERS[role])
    page.fill("#password", PASSWORDS[role])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/($|\?)"))
