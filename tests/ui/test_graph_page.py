"""The project graph page at 2,000 generated assets, in Chromium: it draws, the search
finds and centres a node, selecting a node lists (lights) exactly its upstream and
downstream, a click on the drawing selects, and the panel's link opens the asset page.
The drawing's timings are printed (run with -s), never asserted: benchmarks/ui_graph.py
measures them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from asset_projects import Served, generated_project, login, serve

from headwater.testing.cli import invoke

N = 2000


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, dict[str, list[str]]]]:
    root = tmp_path_factory.mktemp("graph") / "big"
    deps = generated_project(root, N)
    done = invoke("run", "-s", "layer0.m0000", "layer0.m0001", "-p", str(root))
    assert done.exit_code == 0, done.output
    served = serve(root)
    yield served, deps
    served.stop()


def _closure(start: str, step: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(step[start])
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(step[name])
    return seen


def _open(page: Any, served: Served) -> None:
    login(page, served)
    page.goto(served.url + "/graph")
    page.wait_for_function("window.hwGraph && window.hwGraph.timings.firstDraw !== null")


def test_the_graph_draws_2000_assets_and_search_selects_with_upstream(
    page: Any, big: tuple[Served, dict[str, list[str]]]
) -> None:
    served, deps = big
    children: dict[str, list[str]] = {n: [] for n in deps}
    for name, ups in deps.items():
        for up in ups:
            children[up].append(name)
    edges = sum(len(v) for v in deps.values())
    _open(page, served)
    assert page.locator("#graph-status").inner_text() == f"{N} assets, {edges} edges"
    print("graph timings (ms):", page.evaluate("window.hwGraph.timings"))

    # a node deep enough to have a real upstream, few enough to list them all
    target = next(n for n in reversed(list(deps)) if 5 <= len(_closure(n, deps)) <= 300)
    page.fill("#graph-find", target.split(".")[1])  # its short name: found by substring
    page.press("#graph-find", "Enter")
    assert page.locator("#sel-name").inner_text() == target
    upstream = sorted(page.locator("#sel-up li").all_inner_texts())
    assert upstream == sorted(_closure(target, deps))
    assert int(page.locator("#sel-down-count").inner_text()) == len(_closure(target, children))

    # the search centred it: a click in the middle of the drawing selects it again
    page.locator("#graph").press("Escape")
    assert page.locator("#graph-selected").is_hidden()
    box = page.locator("#graph").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.locator("#sel-name").inner_text() == target

    # zoom and pan redraw (the buttons, the keyboard, a drag)
    draws = page.evaluate("window.hwGraph.timings.draws")
    page.click("#zoom-out")
    page.locator("#graph").press("ArrowLeft")
    page.mouse.move(box["x"] + 50, box["y"] + 50)
    page.mouse.down()
    page.mouse.move(box["x"] + 150, box["y"] + 120, steps=5)
    page.mouse.up()
    page.wait_for_function(f"window.hwGraph.timings.draws > {draws}")
    assert page.locator("#sel-name").inner_text() == target  # a drag is not a click

    page.click("#sel-link")
    page.wait_for_url(f"**/assets/{target}")
    assert target in page.locator("h1").inner_text()


def test_an_unknown_name_is_said_and_the_asset_page_links_back(
    page: Any, big: tuple[Served, dict[str, list[str]]]
) -> None:
    served, _ = big
    _open(page, served)
    page.fill("#graph-find", "no_such_asset")
    page.press("#graph-find", "Enter")
    assert "No asset matches" in page.locator("#graph-status").inner_text()
    page.goto(served.url + "/assets/layer0.m0001")
    page.click("text=show in the graph")
    page.wait_for_function("window.hwGraph && window.hwGraph.timings.firstDraw !== null")
    assert page.locator("#sel-name").inner_text() == "layer0.m0001"
    assert page.locator("#sel-status").inner_text() == "success"


def test_the_graph_json_needs_a_login(big: tuple[Served, dict[str, list[str]]]) -> None:
    served, deps = big
    assert httpx.get(served.url + "/api/graph", timeout=30).status_code == 401
    with served.api() as client:
        drawn = client.get("/api/graph").json()
    names = [n["name"] for n in drawn["nodes"]]
    assert sorted(names) == sorted(deps)
    assert sorted((names[a], names[b]) for a, b in drawn["edges"]) == sorted(
        (up, name) for name, ups in deps.items() for up in ups
    )
    status = {n["name"]: n["status"] for n in drawn["nodes"]}
    assert status["layer0.m0000"] == "success" and status["layer4.m1999"] is None
