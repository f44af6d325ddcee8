"""Draw a graph (or a selection of it) as text, Graphviz DOT or Mermaid.

>>> from headwater.project.asset import Asset
>>> g = Graph([Asset("raw.a", "source", "raw", "a"), Asset("s.b", "model", "s", "b", deps=("raw.a",))])
>>> print(render(g, ["raw.a", "s.b"], "mermaid"))
graph LR
  n0["raw.a"]
  n1["s.b"]
  n0 --> n1
"""

from __future__ import annotations

from headwater.project.graph import Graph


def render(graph: Graph, names: list[str], fmt: str = "text") -> str:
    chosen = set(names)
    if fmt == "text":
        lines = []
        for name in names:
            asset = graph[name]
            deps = [d for d in asset.deps if d in chosen]
            kind = (
                asset.kind
                if asset.kind != "model"
                else (asset.model.materialized if asset.model else "model")
            )
            arrow = f"  <- {', '.join(deps)}" if deps else ""
            lines.append(f"{name} [{kind}]{arrow}")
        return "\n".join(lines)
    ids = {name: f"n{i}" for i, name in enumerate(names)}
    if fmt == "dot":
        out = ["digraph headwater {", "  rankdir=LR;"]
        shape = {
            "source": "cylinder",
            "model": "box",
            "task": "ellipse",
            "sync": "cds",
            "export": "folder",
        }
        out += [f'  {ids[n]} [label="{n}", shape={shape[graph[n].kind]}];' for n in names]
        out += [f"  {ids[d]} -> {ids[n]};" for n in names for d in graph[n].deps if d in chosen]
        return "\n".join([*out, "}"])
    if fmt == "mermaid":
        out = ["graph LR"]
        out += [f'  {ids[n]}["{n}"]' for n in names]
        out += [f"  {ids[d]} --> {ids[n]}" for n in names for d in graph[n].deps if d in chosen]
        return "\n".join(out)
    raise ValueError(f"unknown graph format {fmt!r} (text, dot, mermaid)")
