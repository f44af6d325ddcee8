"""dbt-style selection of graph nodes.

Grammar, per expression: ``[N+]atom[+N]`` where ``atom`` is a name (short or schema
qualified), a glob (``stg_*``, ``marts.*``), ``tag:x``, ``source:x`` (the assets of a source)
or ``kind:model``. A leading ``+`` adds all upstream nodes, a trailing ``+`` all downstream
ones; ``2+x`` / ``x+1`` limit the depth. Several expressions are unioned; ``exclude``
expressions are removed afterwards.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterable

from headwater.errors import SelectionError
from headwater.project.graph import Graph

_EXPR = re.compile(r"^(?:(\d*)(\+))?(?P<atom>[^+]+?)(?:(\+)(\d*))?$")


def select(graph: Graph, include: Iterable[str] | None, exclude: Iterable[str] = ()) -> list[str]:
    """Names selected, in dependency order. No ``include`` means everything."""
    exprs = [e for raw in (include or []) for e in raw.replace(",", " ").split()]
    chosen = set(graph.assets) if not exprs else set().union(*(_one(graph, e) for e in exprs))
    for expr in (e for raw in exclude for e in raw.replace(",", " ").split()):
        chosen -= _one(graph, expr)
    return graph.order(chosen)


def _one(graph: Graph, expr: str) -> set[str]:
    match = _EXPR.match(expr.strip())
    if not match:
        raise SelectionError(f"malformed selection {expr!r}")
    up_depth, up, atom, down, down_depth = match.groups()
    base = _atom(graph, atom)
    result = set(base)
    if up:
        result |= _bounded(graph, base, upstream=True, depth=int(up_depth) if up_depth else None)
    if down:
        result |= _bounded(
            graph, base, upstream=False, depth=int(down_depth) if down_depth else None
        )
    return result


def _atom(graph: Graph, atom: str) -> set[str]:
    if ":" in atom:
        method, value = atom.split(":", 1)
        if method == "tag":
            found = {a.name for a in graph if value in a.tags}
        elif method == "source":
            found = {a.name for a in graph if a.source and fnmatch.fnmatch(a.source.source, value)}
        elif method == "kind":
            found = {a.name for a in graph if a.kind == value}
        elif method == "path":
            found = {a.name for a in graph if a.path and fnmatch.fnmatch(str(a.path), f"*{value}*")}
        else:
            raise SelectionError(f"unknown selector method {method!r} in {atom!r}")
    elif any(ch in atom for ch in "*?["):
        found = {
            a.name
            for a in graph
            if fnmatch.fnmatchcase(a.name, atom) or fnmatch.fnmatchcase(a.short_name, atom)
        }
    else:
        found = {a.name for a in graph if atom in (a.name, a.short_name)}
    if not found:
        names = sorted({a.short_name for a in graph} | set(graph.assets))
        close = difflib.get_close_matches(atom.split(":")[-1], names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise SelectionError(f"selection {atom!r} matches nothing{hint}")
    return found


def _bounded(graph: Graph, base: set[str], *, upstream: bool, depth: int | None) -> set[str]:
    seen = set(base)
    frontier = set(base)
    level = 0
    while frontier and (depth is None or level < depth):
        nxt: set[str] = set()
        for name in frontier:
            nxt.update(graph[name].deps if upstream else graph.children[name])
        frontier = nxt - seen
        seen |= frontier
        level += 1
    return seen


def full_refresh_targets(graph: Graph, names: Iterable[str]) -> tuple[list[str], list[str]]:
    """What ``run --full-refresh`` over ``names`` rebuilds from scratch: ``(sources,
    incremental models)``. Each source's table is replaced and its incremental state (cursor,
    files seen) forgotten, so it reloads everything; each incremental model is rebuilt whole.
    Views, table models and tasks are rebuilt by every run anyway and are not listed."""
    assets = [graph[n] for n in names]
    sources = [a.name for a in assets if a.kind == "source"]
    models = [a.name for a in assets if a.model and a.model.materialized == "incremental"]
    return sources, models
