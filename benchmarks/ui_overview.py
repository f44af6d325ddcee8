"""The web UI's overview page and the cost of auth, at the web UI issue's scale: a real
``headwater server`` on a project with a 100-model pipeline whose metastore holds 10,000
runs of it (1,000,000 step rows, filled directly as in :mod:`benchmarks.ui_runs`), then
over loopback (median and best of ``reps``, and the server process's CPU for each):

- ``GET /`` (the overview page) and ``GET /api/overview`` with a browser session;
- ``GET /api/health`` (no auth) and ``GET /api/runs?limit=1`` with the server.json token,
  a user's API token and a session cookie: what finding the principal costs a request;
- the server's RSS after these.

Not a timed test; run by hand:

    .venv/bin/python -m benchmarks.ui_overview [--runs 10000] [--steps 100] [--reps 7]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time

import httpx

from benchmarks._common import work_dir
from benchmarks._server_proc import ServerProc, cpu_seconds, rss_mb
from benchmarks.ui_runs import fill
from headwater.testing.cli import write_project


def _project(runs: int, steps: int) -> ServerProc:
    root = work_dir("ui_overview", fresh=True) / "proj"
    files = {f"models/staging/step_{i:03d}.sql": "select 1 as a\n" for i in range(steps)}
    files["headwater.toml"] = (
        '[pipelines.daily]\nselect = ["staging.*"]\nschedule = "0 6 * * *"\n'
        'timezone = "Europe/Berlin"\n'
    )
    write_project(root, files, name="overview")
    began = time.perf_counter()
    fill(root, runs, steps)
    print(f"filled {runs} runs x {steps} steps in {time.perf_counter() - began:.1f} s")
    from headwater.api import users

    users.add_user(root, "ada", "admin-pass-1", "admin")
    return ServerProc(root)


def _timed(client: httpx.Client, path: str, reps: int, pid: int, **kw: object) -> str:
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), cpu_seconds(pid)
        client.get(path, **kw).raise_for_status()  # type: ignore[arg-type]
        wall.append(time.perf_counter() - t0)
        cpu.append(cpu_seconds(pid) - c0)
    return (
        f"median {statistics.median(wall) * 1000:.1f} ms, best {min(wall) * 1000:.1f} ms, "
        f"server CPU median {statistics.median(cpu) * 1000:.0f} ms"
    )


def _login(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]*)"', form)
    assert token is not None
    data = {"name": "ada", "password": "admin-pass-1", "csrf_token": token.group(1)}
    assert client.post("/login", data=data).status_code == 303  # logged in: sent on
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    server = _project(args.runs, args.steps)
    pid, reps = server.pid, args.reps
    try:
        import json

        token = json.loads((server.root / ".headwater" / "server.json").read_text())["token"]
        from headwater.api import users

        api_token = users.create_token(server.root, "ada", "bench").token
        session = _login(server.url)
        session.get("/")  # warm: templates compiled, modules imported
        print(f"GET /               {_timed(session, '/', reps, pid)}")
        print(f"GET /api/overview   {_timed(session, '/api/overview', reps, pid)}")
        plain = httpx.Client(base_url=server.url, timeout=60)
        print(f"GET /api/health     {_timed(plain, '/api/health', reps * 3, pid)}  (no auth)")
        for what, headers in (
            ("server.json token", {"Authorization": f"Bearer {token}"}),
            ("API token        ", {"Authorization": f"Bearer {api_token}"}),
        ):
            timed = _timed(plain, "/api/runs?limit=1", reps * 3, pid, headers=headers)
            print(f"GET /api/runs?limit=1, {what}  {timed}")
        timed = _timed(session, "/api/runs?limit=1", reps * 3, pid)
        print(f"GET /api/runs?limit=1, session cookie     {timed}")
        print(f"server RSS {rss_mb(pid):.0f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
