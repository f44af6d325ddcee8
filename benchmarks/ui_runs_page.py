"""The runs grid page at the web UI issue's scale, end to end: a real ``headwater server``
on a project whose metastore holds 1,000 runs of a 100-step pipeline (filled directly, as
in :mod:`benchmarks.ui_runs`), then

- server time: ``GET /runs?limit=1000`` and ``GET /api/grid?limit=1000`` over loopback
  (median and best of ``reps``), and the HTML page's size;
- Chromium (Debian's, through Playwright): the navigation's timing (response end,
  DOMContentLoaded, load), when the grid was first drawn, and the frame times while the
  grid is scrolled from one corner to the other (``requestAnimationFrame`` deltas).

Not a timed test; run by hand:

    .venv/bin/python -m benchmarks.ui_runs_page [--runs 1000] [--steps 100] [--reps 5]
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

from benchmarks._common import HEADWATER
from benchmarks._server_proc import cpu_seconds
from benchmarks.ui_runs import make_project

CHROMIUM = "/usr/bin/chromium"
SCROLL_JS = """async () => {
  const box = document.getElementById('grid-scroll');
  const frames = [];
  let last = performance.now();
  const steps = 120;
  for (let i = 1; i <= steps; i++) {
    box.scrollLeft = (box.scrollWidth - box.clientWidth) * i / steps;
    box.scrollTop = (box.scrollHeight - box.clientHeight) * i / steps;
    await new Promise(r => requestAnimationFrame(r));
    const now = performance.now();
    frames.push(now - last);
    last = now;
  }
  frames.sort((a, b) => a - b);
  return {median: frames[frames.length >> 1], p95: frames[Math.floor(frames.length * 0.95)],
          max: frames[frames.length - 1]};
}"""


def _server(root: Any) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen(
        [HEADWATER, "server", "-p", str(root), "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    path = root / ".headwater" / "server.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            info = json.loads(path.read_text())
            if info["pid"] == proc.pid:
                httpx.get(info["url"] + "/api/health", timeout=1).raise_for_status()
                return proc, info["url"], info["token"]
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server not ready in 60 s")


def _timed(
    client: httpx.Client, path: str, reps: int, pid: int
) -> tuple[list[float], list[float], int]:
    """Wall seconds of each request, the server process's CPU seconds for it (robust to
    a busy machine), and the body's size."""
    times, cpu, size = [], [], 0
    for _ in range(reps):
        began, used = time.perf_counter(), cpu_seconds(pid)
        answer = client.get(path)
        times.append(time.perf_counter() - began)
        cpu.append(cpu_seconds(pid) - used)
        answer.raise_for_status()
        size = len(answer.content)
    return times, cpu, size


def _browser(url: str, token: str) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as play:
        chromium = play.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = chromium.new_context(
            extra_http_headers={"Authorization": f"Bearer {token}"},
            viewport={"width": 1400, "height": 900},
        )
        page = context.new_page()
        page.goto(url + "/runs?limit=1000", wait_until="load")
        page.wait_for_function("() => window.headwaterGrid && window.headwaterGrid.drawn")
        timing = page.evaluate(
            """() => { const n = performance.getEntriesByType('navigation')[0];
                return {response_end: n.responseEnd, dom_content_loaded: n.domContentLoadedEventEnd,
                        load: n.loadEventEnd, grid_drawn: window.headwaterGrid.drawn}; }"""
        )
        timing["scroll_frames_ms"] = page.evaluate(SCROLL_JS)
        chromium.close()
    return dict(timing)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    root = make_project("page", args.runs, args.steps)
    proc, url, token = _server(root)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            client.get("/runs?limit=10")  # warm: templates compiled, modules imported
            page = _timed(client, f"/runs?limit={args.runs}", args.reps, proc.pid)
            data = _timed(client, f"/api/grid?limit={args.runs}", args.reps, proc.pid)
        shown = _browser(url, token)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    print(f"{args.runs} runs x {args.steps} steps")
    for what, (wall, cpu, size) in (("GET /runs    ", page), ("GET /api/grid", data)):
        print(f"{what}  median {statistics.median(wall):.3f} s, best {min(wall):.3f} s, "
              f"server CPU median {statistics.median(cpu):.3f} s, {size / 1e6:.2f} MB")  # fmt: skip
    frames = shown.pop("scroll_frames_ms")
    print("Chromium (ms from navigation start): " + ", ".join(
        f"{k} {v:.0f}" for k, v in shown.items()))  # fmt: skip
    print("scrolling corner to corner, frame ms: " + ", ".join(
        f"{k} {v:.1f}" for k, v in frames.items()))  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
