"""The project graph as the web UI draws it (``GET /api/graph``): every asset's box from
:func:`headwater.project.layout.layered_layout`, its kind and its latest status, and the
edges between them.

The layout depends only on the graph's shape, so it is computed once per graph digest
(the names and their upstream) and kept in memory for the process; the statuses are read
from the metastore on each call: for each asset, its step's status in the newest run that
ran it (``None``: never run), looking back through at most :data:`LOOK_BACK_RUNS` runs.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from headwater.api.project import ProjectLike, as_project, metastore
from headwater.project import Project
from headwater.project.graph import Graph
from headwater.project.layout import Layout, layered_layout

__all__ = ["GraphDrawing", "graph_digest", "graph_drawing", "latest_statuses"]

LOOK_BACK_RUNS = 400
_PAGE = 25  # runs read per query while some asset has no status yet
_CACHE: dict[str, Layout] = {}
_CACHE_LIMIT = 8  # digests kept (a project's graph changes as its files are edited)
_LOCK = threading.Lock()
_DIGESTS: weakref.WeakKeyDictionary[Graph, str] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class GraphDrawing:
    """Boxes, edges and statuses; ``to_json()`` is compact (parallel lists, edges as index
    pairs) because 2,000 assets are sent to the browser at once."""

    digest: str
    layout: Layout
    kinds: list[str]
    statuses: list[str | None]

    def to_json(self) -> dict[str, Any]:
        lay = self.layout
        return {
            "digest": self.digest,
            "box": {"w": lay.box_w, "h": lay.box_h},
            "size": {"w": lay.width, "h": lay.height},
            "nodes": [
                {"name": n, "kind": k, "x": x, "y": y, "rank": r, "status": s}
                for n, k, x, y, r, s in zip(
                    lay.names, self.kinds, lay.x, lay.y, lay.rank, self.statuses, strict=True
                )
            ],
            "edges": [list(e) for e in lay.edges],
        }


def graph_digest(project: Project) -> str:
    """A digest of the graph's shape: its names and each one's upstream.

    Equal for two loads of an unchanged project; different when an asset or an edge
    comes or goes. Kept per loaded graph (a graph never changes once loaded)."""
    with _LOCK:
        known = _DIGESTS.get(project.graph)
    if known is not None:
        return known
    h = hashlib.sha1()
    for asset in sorted(project.graph, key=lambda a: a.name):
        h.update(asset.name.encode())
        h.update(b"\x00" + b"\x01".join(d.encode() for d in sorted(asset.deps)) + b"\x02")
    digest = h.hexdigest()
    with _LOCK:
        _DIGESTS[project.graph] = digest
    return digest


def graph_drawing(project: ProjectLike) -> GraphDrawing:
    """The whole project graph laid out (cached per :func:`graph_digest`) with each asset's
    kind and latest status."""
    proj = as_project(project)
    digest = graph_digest(proj)
    with _LOCK:
        layout = _CACHE.get(digest)
    if layout is None:
        names = proj.graph.order()
        deps = {a.name: list(a.deps) for a in proj.graph}
        layout = layered_layout(names, deps)
        with _LOCK:
            if len(_CACHE) >= _CACHE_LIMIT:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[digest] = layout
    status = latest_statuses(proj, layout.names)
    kinds: list[str] = [proj.graph[n].kind for n in layout.names]
    return GraphDrawing(digest, layout, kinds, [status.get(n) for n in layout.names])


def latest_statuses(project: ProjectLike, names: list[str]) -> dict[str, str]:
    """Each of ``names``' step status in the newest run that ran it (a check run counts:
    its failed check is the asset's latest news); names never run in the last :data:`LOOK_BACK_RUNS` runs are left out."""
    import sqlalchemy as sa

    from headwater.metastore import tables as t

    proj = as_project(project)
    wanted, found = set(names), {}
    with metastore(proj) as store, store.engine.connect() as conn:
        newest = (
            sa.select(t.runs.c.run_id)
            .order_by(t.runs.c.started_at.desc(), t.runs.c.run_id.desc())
            .limit(LOOK_BACK_RUNS)
        )
        run_ids = [row[0] for row in conn.execute(newest)]
        for start in range(0, len(run_ids), _PAGE):
            page = run_ids[start : start + _PAGE]
            rows = conn.execute(
                sa.select(t.step_runs.c.run_id, t.step_runs.c.step, t.step_runs.c.status).where(
                    t.step_runs.c.run_id.in_(page)
                )
            )
            rank = {run_id: i for i, run_id in enumerate(page)}
            # newest run first within the page, so the first status seen for a step wins
            for _run, step, status in sorted(rows, key=lambda r: rank[r[0]]):
                if step in wanted and step not in found:
                    found[step] = status
            if len(found) == len(wanted):
                break
    return found
