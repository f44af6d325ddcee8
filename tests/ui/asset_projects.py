"""Projects and servers of tests/ui/test_assets_page.py and test_graph_page.py: a project
with checks and a partitioned model, and a generated project of N assets, each served by
its own ``headwater server`` (the session's shared server in conftest.py serves another
project), with one viewer to log in as."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from headwater.testing.cli import invoke, write_project

HEADWATER = str(Path(sys.executable).parent / "headwater")
VIEWER, PASSWORD = "viewer1", "viewer-pass-9"

PARTITIONED = {
    "headwater.toml": """
[sources.orders]
files = "data/*.csv"
primary_key = ["id"]
write = "merge"

[[sources.orders.checks]]
name = "customer_present"
type = "not_null"
column = "customer"
severity = "warn"

[pipelines.daily]
select = ["orders+"]
schedule = "0 0 * * *"
start = "2026-03-01"
end = "2026-03-04"  # the server has nothing to catch up
""",
    "data/orders.csv": (
        "id,order_date,customer,amount\n1,2026-03-01,ada,10\n2,2026-03-02,,20\n"
        "3,2026-03-03,grace,30\n"
    ),
    "models/marts/daily_sales.sql": """-- headwater:
--   materialized: table
--   partition_by: order_date
--   grain: day
--   description: Sales per day, built one day at a time.
select order_date::date as order_date, sum(amount::integer) as amount
from orders
where order_date::date >= getvariable('interval_start')
  and order_date::date < getvariable('interval_end')
group by all
""",
}


def partitioned_project(root: Path) -> Path:
    """:data:`PARTITIONED`, with days 1 and 3 of March 2026 built and day 2 missing (two
    backfills), so the source's check ran twice."""
    write_project(root, PARTITIONED, name="parts")
    for start, end in (("2026-03-01", "2026-03-02"), ("2026-03-03", "2026-03-04")):
        done = invoke("backfill", "daily", "--start", start, "--end", end, "-p", str(root))
        assert done.exit_code == 0, done.output
    return root


def generated_deps(n: int, seed: int = 7) -> dict[str, list[str]]:
    """``n`` model names (``m0000``...) and what each reads: the first tenth read nothing,
    each other one to three of the 300 before it (a wide, deep graph like a real one)."""
    rnd = random.Random(seed)
    names = [f"m{i:04d}" for i in range(n)]
    deps: dict[str, list[str]] = {}
    for i, name in enumerate(names):
        if i < n // 10:
            deps[name] = []
        else:
            deps[name] = sorted(set(rnd.sample(names[max(0, i - 300) : i], k=rnd.randint(1, 3))))
    return deps


def generated_project(root: Path, n: int) -> dict[str, list[str]]:
    """A project of ``n`` SQL views (:func:`generated_deps`) in schemas ``layer0..layer4``;
    returns each asset's full name -> the full names it reads."""
    deps = generated_deps(n)
    schema = {name: f"layer{int(name[1:]) * 5 // n}" for name in deps}
    files = {"headwater.toml": ""}
    for name, ups in deps.items():
        if ups:
            sql = "select " + ", ".join(f"{u}.x + 0 as x{k}" for k, u in enumerate(ups))
            sql = sql.replace(" as x0", " as x", 1)
            sql += " from " + ", ".join(f"{schema[u]}.{u}" for u in ups)
        else:
            sql = f"select {int(name[1:])} as x"
        files[f"models/{schema[name]}/{name}.sql"] = sql + "\n"
    write_project(root, files, name="big")
    return {f"{schema[n_]}.{n_}": [f"{schema[u]}.{u}" for u in ups] for n_, ups in deps.items()}


@dataclass
class Served:
    """A ``headwater server`` started by :func:`serve`."""

    root: Path
    proc: subprocess.Popen[str]
    url: str
    token: str

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def serve(root: Path) -> Served:
    """A viewer user added, then ``headwater server`` on a free port, ready."""
    added = subprocess.run(
        [HEADWATER, "user", "add", VIEWER, "--role", "viewer", "--password-stdin", "-p", str(root)],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    proc = subprocess.Popen(
        [HEADWATER, "server", "-p", str(root), "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    path = root / ".headwater" / "server.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {proc.stderr.read()}")
        try:
            info = json.loads(path.read_text())
            if info["pid"] == proc.pid:
                httpx.get(info["url"] + "/api/health", timeout=1).raise_for_status()
                return Served(root, proc, info["url"], info["token"])
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("server not ready in 120 s")


def login(page: Any, served: Served) -> None:
    """Log ``page`` in as the viewer through the login form."""
    page.goto(served.url + "/login")
    page.fill("#name", VIEWER)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
