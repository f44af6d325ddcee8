"""The server under load, at the web UI issue's scale: a real ``headwater server`` on a
project with a 100-model pipeline whose metastore holds 10,000 runs of it (1,000,000 step
rows, filled directly as in :mod:`benchmarks.ui_runs`), then, for ``--seconds`` (60):

- ``--clients`` (100) concurrent API clients on loopback, each its own connection (an
  asyncio httpx client) with a viewer's API token, each asking the read endpoints below
  one after another, as fast as the server answers (no think time; ``--pause S``: each
  client waits S seconds between its requests, as a dashboard polling would);
- meanwhile the pipeline runs: triggered through the API, followed until it is over,
  triggered again, for the whole window.

It prints, per read endpoint and in all: requests, errors (a transport error or any status
but 200), p50 / p99 / max latency; throughput (answers per second); the pipeline's runs
finished in the window; the server's CPU over the window (utime + stime, % of one core)
and the client's own; the server's RSS before the load, after it and its peak (VmHWM).
The issue's targets: 0 errors, p99 of the read endpoints under 300 ms, RSS under 200 MB
with 10,000 runs of history. The clients run on the same machine as the server.

Not a timed test; run by hand:

    .venv/bin/python -m benchmarks.ui_load [--runs 10000] [--steps 100] [--clients 100]
        [--seconds 60] [--pause 0] [--output FILE.json] [--keep]

``--keep`` reuses the history the last run filled (benchmarks/.work/ui_load; filling
10,000 runs takes minutes), with the pipeline runs that run added to it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks._common import work_dir
from benchmarks._server_proc import ServerProc, cpu_seconds, percentile, rss_mb
from benchmarks.ui_runs import fill
from headwater.testing.cli import write_project

READS = (  # what a dashboard or a script polls; {run} is a run of the filled history
    "/api/runs?limit=20",
    "/api/runs/{run}",
    "/api/overview",
    "/api/grid?limit=100",
    "/api/graph",
    "/api/assets/staging.step_007",
    "/api/quarantine/assets",
)


@dataclass
class Tally:
    """What the clients saw: latencies (s) per endpoint, errors per endpoint."""

    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def _project(runs: int, steps: int, keep: bool) -> ServerProc:
    made = work_dir("ui_load") / f"proj_{runs}x{steps}"
    if keep and made.is_dir():  # the history the last run filled (plus its pipeline runs)
        print(f"kept {made}")
        return ServerProc(made)
    root = work_dir("ui_load", fresh=True) / f"proj_{runs}x{steps}"
    files = {f"models/staging/step_{i:03d}.sql": "select 1 as a\n" for i in range(steps)}
    files["headwater.toml"] = '[pipelines.daily]\nselect = ["staging.*"]\n'
    write_project(root, files, name="load")
    began = time.perf_counter()
    fill(root, runs, steps)
    print(f"filled {runs} runs x {steps} steps in {time.perf_counter() - began:.1f} s")
    from headwater.api import users

    users.add_user(root, "vera", "viewer-pass-1", "viewer")
    return ServerProc(root)


def peak_rss_mb(pid: int) -> float:
    """VmHWM (the peak resident set) of process ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for PID {pid}")


async def _client(
    n: int, url: str, token: str, paths: list[str], end: float, pause: float, tally: Tally
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        i = n  # each client starts at another endpoint
        while time.monotonic() < end:
            path = paths[i % len(paths)]
            i += 1
            began = time.perf_counter()
            try:
                answer = await client.get(path)
                await answer.aread()
                if answer.status_code != 200:
                    tally.errors[path].append(str(answer.status_code))
            except httpx.HTTPError as problem:
                tally.errors[path].append(type(problem).__name__)
            tally.latency[path].append(time.perf_counter() - began)
            if pause:
                await asyncio.sleep(pause)


async def _pipeline(url: str, token: str, end: float) -> list[tuple[str, str, float]]:
    """Trigger ``daily``, follow it to its end, again, until ``end``: (run, status, s)."""
    done: list[tuple[str, str, float]] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        while time.monotonic() < end:
            began = time.perf_counter()
            queued = await client.post("/api/pipelines/daily/trigger")
            queued.raise_for_status()
            run_id = queued.json()["run_id"]
            while True:
                await asyncio.sleep(0.5)
                status = (await client.get(f"/api/runs/{run_id}")).json()["run"]["status"]
                if status not in ("queued", "running"):
                    break
            done.append((run_id, status, time.perf_counter() - began))
    return done


async def _load(
    server: ServerProc, token: str, admin: str, clients: int, seconds: float, pause: float
) -> Any:
    run = await asyncio.to_thread(_first_run, server.url, admin)
    paths = [p.format(run=run) for p in READS]
    end = time.monotonic() + seconds
    tally = Tally()
    jobs = [_client(n, server.url, token, paths, end, pause, tally) for n in range(clients)]
    runs = asyncio.create_task(_pipeline(server.url, admin, end))
    await asyncio.gather(*jobs)
    return tally, await runs


def _first_run(url: str, admin: str) -> str:
    found = httpx.get(url + "/api/runs?limit=1", headers={"Authorization": f"Bearer {admin}"})
    return str(found.json()[0]["run_id"])


def _line(name: str, values: list[float], errors: int) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name:<32} {len(ms):>7} {errors:>6} {percentile(ms, 50):>8.1f} "
        f"{percentile(ms, 99):>8.1f} {max(ms):>8.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pause", type=float, default=0.0, help="each client's wait (s)")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--keep", action="store_true", help="reuse the last run's history")
    args = parser.parse_args()
    server = _project(args.runs, args.steps, args.keep)
    pid = server.pid
    rss_ready = rss_mb(pid)  # started, no request answered yet
    try:
        from headwater.api import users

        admin = json.loads((server.root / ".headwater" / "server.json").read_text())["token"]
        token = users.create_token(server.root, "vera", "load").token
        assert token is not None  # shown once, when made
        for path in READS:  # warm: modules imported, the graph laid out
            httpx.get(server.url + path.format(run=_first_run(server.url, admin)),
                      headers={"Authorization": f"Bearer {token}"}, timeout=120)  # fmt: skip
        rss_before = rss_mb(pid)
        cpu0, own0, t0 = cpu_seconds(pid), time.process_time(), time.perf_counter()
        tally, runs = asyncio.run(
            _load(server, token, admin, args.clients, args.seconds, args.pause)
        )
        wall = time.perf_counter() - t0
        cpu, own = cpu_seconds(pid) - cpu0, time.process_time() - own0
        rss_after, rss_peak = rss_mb(pid), peak_rss_mb(pid)
    finally:
        server.stop()
    every = [v for values in tally.latency.values() for v in values]
    errors = sum(len(e) for e in tally.errors.values())
    print(f"{args.clients} clients (pause {args.pause:g} s), {wall:.1f} s, {args.runs} runs")
    print(
        f"{'endpoint':<32} {'answers':>7} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    for path in sorted(tally.latency):
        print(_line(path, tally.latency[path], len(tally.errors[path])))
    print(_line("all reads", every, errors))
    print(f"throughput {len(every) / wall:.0f} answers/s")
    statuses = [status for _, status, _ in runs]
    print(f"pipeline runs finished in the window: {len(runs)} ({statuses.count('success')} success)"
          f", {', '.join(f'{s:.1f}' for _, _, s in runs)} s each")  # fmt: skip
    print(f"server CPU {cpu / wall * 100:.0f}% of a core; this client's {own / wall * 100:.0f}%")
    print(
        f"server RSS {rss_ready:.0f} MB ready, {rss_before:.0f} MB once each endpoint answered, "
        f"{rss_after:.0f} MB after the load, peak {rss_peak:.0f} MB"
    )
    if errors:
        print("errors:", {p: sorted(set(e)) for p, e in tally.errors.items() if e})
    if args.output:
        args.output.write_text(
            json.dumps(
                {
                    "clients": args.clients, "pause": args.pause, "seconds": wall, "history_runs": args.runs,
                    "steps": args.steps, "answers": len(every), "errors": errors,
                    "p50_ms": percentile(every, 50) * 1000, "p99_ms": percentile(every, 99) * 1000,
                    "per_endpoint_p99_ms": {
                        p: percentile(v, 99) * 1000 for p, v in tally.latency.items()
                    },
                    "throughput_per_s": len(every) / wall, "pipeline_runs": runs,
                    "server_cpu_pct": cpu / wall * 100, "client_cpu_pct": own / wall * 100,
                    "rss_mb": {"ready": rss_ready, "warm": rss_before, "after": rss_after, "peak": rss_peak},
                },
                indent=2,
            )
        )  # fmt: skip


if __name__ == "__main__":
    main()
