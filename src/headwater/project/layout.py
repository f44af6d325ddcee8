"""A layered drawing of the project graph: where each asset's box goes, for the web UI.

Left to right, Sugiyama-style and kept small: each asset's column is its longest path from
a root (:func:`ranks`); within a column the order comes from a few barycenter sweeps (an
asset moves toward the mean position of its neighbours in the other columns, down then
up), which removes most edge crossings; then each box is placed as near the mean height of
its upstream boxes as the boxes above it in its column allow. Deterministic: the same
graph gives the same drawing (ties are broken by the order already reached, then by name).
No two boxes overlap: a column's boxes are at least one box height plus ``gap_y`` apart,
and columns ``box_w + gap_x`` apart.

>>> drawn = layered_layout(["a", "b", "c"], {"c": ["a", "b"]})
>>> [(n, drawn.x[i], drawn.y[i]) for i, n in enumerate(drawn.names)]
[('a', 0, 0), ('b', 0, 40), ('c', 240, 20)]
>>> drawn.edges
[(0, 2), (1, 2)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from graphlib import TopologicalSorter

BOX_W, BOX_H, GAP_X, GAP_Y = 180, 28, 60, 12


@dataclass(frozen=True)
class Layout:
    """Boxes (top-left ``x``, ``y``, all ``box_w`` x ``box_h``) by index into ``names``;
    ``edges`` are ``(upstream, downstream)`` index pairs; ``width`` x ``height`` bounds
    the drawing."""

    names: list[str]
    x: list[int]
    y: list[int]
    rank: list[int]
    edges: list[tuple[int, int]]
    box_w: int
    box_h: int
    width: int
    height: int


def ranks(names: Sequence[str], deps: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Each node's column: 0 for a node with no upstream, else one more than its highest
    upstream's (the longest path from a root).

    >>> ranks(["a", "b", "c", "d"], {"b": ["a"], "c": ["b"], "d": ["a", "c"]})
    {'a': 0, 'b': 1, 'c': 2, 'd': 3}
    """
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for name in sorted(names):
        sorter.add(name, *sorted(deps.get(name, ())))
    out: dict[str, int] = {}
    for name in sorter.static_order():
        ups = deps.get(name, ())
        out[name] = 1 + max(out[u] for u in ups) if ups else 0
    return {name: out[name] for name in names}


def layered_layout(
    names: Sequence[str],
    deps: Mapping[str, Sequence[str]],
    *,
    sweeps: int = 4,
    box_w: int = BOX_W,
    box_h: int = BOX_H,
    gap_x: int = GAP_X,
    gap_y: int = GAP_Y,
) -> Layout:
    """The drawing of the DAG whose nodes are ``names`` and whose node ``n`` reads
    ``deps[n]`` (every one of them in ``names``; no cycle). ``sweeps`` down-and-up
    barycenter passes order the columns."""
    # the same graph given in any order gives the same drawing: neighbours in name order
    # (a mean summed in another order may differ in its last bit, and reorder a tie)
    deps = {n: sorted(set(deps.get(n, ()))) for n in names}
    rank = ranks(names, deps)
    children: dict[str, list[str]] = {n: [] for n in names}
    for name in sorted(names):
        for dep in deps[name]:
            children[dep].append(name)
    columns = _columns(names, deps, rank)
    for _ in range(sweeps):
        _sweep(columns, deps, range(1, len(columns)))
        _sweep(columns, children, range(len(columns) - 2, -1, -1))
    ys = _heights(columns, deps, box_h + gap_y)
    index = {name: i for i, name in enumerate(names)}
    edges = sorted((index[d], index[n]) for n in names for d in deps.get(n, ()))
    xs = [rank[n] * (box_w + gap_x) for n in names]
    y_list = [ys[n] for n in names]
    return Layout(
        names=list(names),
        x=xs,
        y=y_list,
        rank=[rank[n] for n in names],
        edges=edges,
        box_w=box_w,
        box_h=box_h,
        width=(max(xs, default=0) + box_w),
        height=(max(y_list, default=0) + box_h),
    )


def _columns(
    names: Sequence[str], deps: Mapping[str, Sequence[str]], rank: Mapping[str, int]
) -> list[list[str]]:
    """Nodes by column; a column's first order puts a node after its upstream's."""
    columns: list[list[str]] = [[] for _ in range(max(rank.values(), default=-1) + 1)]
    for name in sorted(names):
        columns[rank[name]].append(name)
    where: dict[str, float] = {n: i / max(1, len(columns[0])) for i, n in enumerate(columns[0])}
    for column in columns[1:]:
        column.sort(key=lambda n: (_mean([where[d] for d in deps.get(n, ())], 0.0), n))
        where.update({n: i / len(column) for i, n in enumerate(column)})
    return columns


def _sweep(columns: list[list[str]], neighbours: Mapping[str, Sequence[str]], order: range) -> None:
    """Reorder each column of ``order`` by the mean relative position of each node's
    ``neighbours`` (a node without any keeps its own): one barycenter pass."""
    where = {n: (i + 0.5) / len(col) for col in columns for i, n in enumerate(col)}
    for r in order:
        column = columns[r]
        keys = {n: _mean([where[m] for m in neighbours.get(n, ())], where[n]) for n in column}
        # stable: ties keep the order already reached, so sweeps converge and stay put
        column.sort(key=lambda n: keys[n])
        where.update({n: (i + 0.5) / len(column) for i, n in enumerate(column)})


def _heights(
    columns: list[list[str]], deps: Mapping[str, Sequence[str]], step: int
) -> dict[str, int]:
    """Each node's top: as near the mean of its upstream's as the column allows (its nodes
    in their order, ``step`` apart); the least squared displacement (:func:`_spread`)."""
    y: dict[str, float] = {}
    for column in columns:
        floor = 0.0
        want = []
        for name in column:
            ups = [y[d] for d in deps.get(name, ()) if d in y]
            want.append(_mean(ups, floor))
            floor = want[-1] + step
        y.update(zip(column, _spread(want, step), strict=True))
    low = min(y.values(), default=0.0)
    return {name: round(v - low) for name, v in y.items()}


def _spread(want: list[float], step: float) -> list[float]:
    """The positions nearest ``want`` (least squares) that keep its order, each at least
    ``step`` after the one before: isotonic regression (pool adjacent violators) of
    ``want[i] - i * step``.

    >>> _spread([0, 0, 0], 10)
    [-10.0, 0.0, 10.0]
    >>> _spread([0, 50, 20], 10)
    [0.0, 30.0, 40.0]
    """
    blocks: list[list[float]] = []  # [mean, size]
    for i, value in enumerate(want):
        blocks.append([float(value) - i * step, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, size = blocks.pop()
            blocks[-1][0] = (blocks[-1][0] * blocks[-1][1] + mean * size) / (blocks[-1][1] + size)
            blocks[-1][1] += size
    out: list[float] = []
    for mean, size in blocks:
        out.extend([mean] * int(size))
    return [v + i * step for i, v in enumerate(out)]


def _mean(values: Sequence[float], default: float) -> float:
    return sum(values) / len(values) if values else default
