"""The project graph and the asset page at the web UI issue's scale (2,000 assets): the
server's time for ``/api/graph`` (cold: the layout computed; warm: cached per graph
digest), the ``/graph`` shell, an asset page and its JSON; then in Chromium (Debian's,
through Playwright) the time to the first drawing of all 2,000 boxes, and the redraw of a
zoom (wheel) and a pan (drag). Not a timed test; run by hand:

    .venv/bin/python -m benchmarks.ui_graph [--assets 2000] [--reps 5]

The project is the tests' generated one (tests/ui/asset_projects.py: SQL views in five
layers, each reading one to three of the 300 before it), three roots built.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._common import work_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ui"))
from asset_projects import Served, generated_project, login, serve

CHROMIUM = "/usr/bin/chromium"


def _timed(client: Any, path: str, reps: int) -> tuple[float, float]:
    """Median and best seconds of ``reps`` GETs of ``path``."""
    took = []
    for _ in range(reps):
        start = time.perf_counter()
        client.get(path).raise_for_status()
        took.append(time.perf_counter() - start)
    return statistics.median(took), min(took)


def server_times(served: Served, asset: str, reps: int) -> dict[str, Any]:
    with served.api() as client:
        start = time.perf_counter()
        body = client.get("/api/graph")
        cold = time.perf_counter() - start
        out: dict[str, Any] = {"api_graph_cold_s": cold, "api_graph_bytes": len(body.content)}
        for name, path in (
            ("api_graph", "/api/graph"),
            ("graph_page", "/graph"),
            ("asset_page", f"/assets/{asset}"),
            ("api_asset", f"/api/assets/{asset}"),
        ):
            out[name + "_median_s"], out[name + "_best_s"] = _timed(client, path, reps)
    return out


def browser_times(served: Served) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(
        executable_path=CHROMIUM,
        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
    try:
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        login(page, served)
        page.goto(served.url + "/graph")
        page.wait_for_function("window.hwGraph && window.hwGraph.timings.firstDraw !== null")
        first = page.evaluate("window.hwGraph.timings")
        box = page.locator("#graph").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

        def redraw(action: Any) -> float:
            draws = page.evaluate("window.hwGraph.timings.draws")
            action()
            page.wait_for_function(f"window.hwGraph.timings.draws > {draws}")
            return float(page.evaluate("window.hwGraph.timings.lastDraw"))

        page.mouse.move(cx, cy)
        zoom_whole = redraw(lambda: page.mouse.wheel(0, 100))  # everything in view

        def drag() -> None:
            page.mouse.move(cx, cy)
            page.mouse.down()
            page.mouse.move(cx + 200, cy + 100, steps=4)
            page.mouse.up()

        pan_whole = redraw(drag)
        for _ in range(12):
            redraw(lambda: page.mouse.wheel(0, -200))  # zoom in until labels show
        zoom_close = redraw(lambda: page.mouse.wheel(0, -50))
        pan_close = redraw(drag)
        return {
            "first_draw_since_navigation_ms": first["firstDrawAt"],
            "first_draw_since_script_ms": first["firstDraw"],
            "fetch_api_graph_ms": first["fetch"],
            "zoom_redraw_whole_graph_ms": zoom_whole,
            "pan_redraw_whole_graph_ms": pan_whole,
            "zoom_redraw_close_ms": zoom_close,
            "pan_redraw_close_ms": pan_close,
        }
    finally:
        browser.close()
        pw.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    root = work_dir("ui_graph", f"graph_{args.assets}", fresh=True)
    deps = generated_project(root, args.assets)
    from headwater.testing.cli import invoke

    invoke("run", "-s", *sorted(deps)[:3], "-p", str(root))
    start = time.perf_counter()
    served = serve(root)
    ready = time.perf_counter() - start
    try:
        asset = sorted(deps)[len(deps) // 2]
        figures = {"assets": args.assets, "server_ready_s": ready}
        figures.update(server_times(served, asset, args.reps))
        figures.update(browser_times(served))
    finally:
        served.stop()
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown}")


if __name__ == "__main__":
    main()
