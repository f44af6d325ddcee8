"""The project graph's layout (headwater.project.layout, served by headwater.api.graph_layout):
deterministic, no two boxes overlapping, every edge drawn left to right, fewer crossings
after the barycenter sweeps; cached per graph digest, which an edited edge changes."""

from __future__ import annotations

import bisect
import random
from itertools import pairwise
from pathlib import Path

from asset_projects import generated_deps

from headwater import api
from headwater.api.graph_layout import graph_digest, graph_drawing
from headwater.project.layout import Layout, layered_layout


def _boxes(layout: Layout) -> dict[str, tuple[int, int]]:
    return {n: (layout.x[i], layout.y[i]) for i, n in enumerate(layout.names)}


def _crossings(layout: Layout) -> int:
    """Crossings between edges joining neighbouring columns (inversions of their ends)."""
    by_rank: dict[int, list[tuple[int, int]]] = {}
    for a, b in layout.edges:
        if layout.rank[b] == layout.rank[a] + 1:
            by_rank.setdefault(layout.rank[a], []).append((layout.y[a], layout.y[b]))
    count = 0
    for edges in by_rank.values():
        seen: list[int] = []
        for _, end in sorted(edges):
            count += len(seen) - bisect.bisect_right(seen, end)
            bisect.insort(seen, end)
    return count


def test_the_same_graph_gives_the_same_drawing_whatever_the_order_given() -> None:
    deps = generated_deps(2000)
    first = _boxes(layered_layout(list(deps), deps))
    shuffled = list(deps)
    random.Random(3).shuffle(shuffled)
    reordered = {n: list(reversed(deps[n])) for n in shuffled}
    assert _boxes(layered_layout(shuffled, reordered)) == first


def test_no_boxes_overlap_and_edges_go_left_to_right_at_2000_assets() -> None:
    deps = generated_deps(2000)
    layout = layered_layout(list(deps), deps)
    w, h = layout.box_w, layout.box_h
    columns: dict[int, list[int]] = {}
    for x, y in zip(layout.x, layout.y, strict=True):
        columns.setdefault(x, []).append(y)
    xs = sorted(columns)
    assert all(b - a >= w for a, b in pairwise(xs))  # columns apart
    for ys in columns.values():
        ys.sort()
        assert all(b - a >= h for a, b in pairwise(ys))  # boxes apart
    assert all(layout.x[a] + w < layout.x[b] for a, b in layout.edges)
    assert len(layout.edges) == sum(len(v) for v in deps.values())
    assert min(layout.y) == 0 and layout.height == max(layout.y) + h


def test_barycenter_sweeps_remove_crossings() -> None:
    deps = generated_deps(2000)
    unswept = _crossings(layered_layout(list(deps), deps, sweeps=0))
    swept = _crossings(layered_layout(list(deps), deps, sweeps=4))
    assert swept < unswept


def test_graph_json_is_cached_per_digest_and_an_edited_edge_changes_it(project_dir) -> None:  # type: ignore[no-untyped-def]
    root: Path = project_dir(
        {
            "models/a.sql": "select 1 as x\n",
            "models/b.sql": "select x from a\n",
            "models/c.sql": "select x from b\n",
        }
    )
    project = api.open_project(root)
    drawn = graph_drawing(project).to_json()
    assert [n["name"] for n in drawn["nodes"]] == ["main.a", "main.b", "main.c"]
    assert [n["status"] for n in drawn["nodes"]] == [None, None, None]  # never run
    assert drawn["edges"] == [[0, 1], [1, 2]]
    assert graph_digest(api.open_project(root)) == drawn["digest"]

    api.run(project, select=["main.a"])
    assert [n["status"] for n in graph_drawing(project).to_json()["nodes"]] == [
        "success", None, None,
    ]  # fmt: skip
    (root / "models" / "c.sql").write_text("select x from a\n")
    edited = graph_drawing(api.open_project(root)).to_json()
    assert edited["digest"] != drawn["digest"]
    assert edited["edges"] == [[0, 1], [0, 2]]
