"""The dependency graph of a project's assets and tasks.

>>> from headwater.project.asset import Asset
>>> g = Graph([Asset("raw.a", "source", "raw", "a"), Asset("s.b", "model", "s", "b", deps=("raw.a",))])
>>> g.order()
['raw.a', 's.b']
>>> sorted(g.downstream({"raw.a"}))
['raw.a', 's.b']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from graphlib import CycleError as _GraphlibCycle
from graphlib import TopologicalSorter

from headwater.errors import CycleError, UnknownAssetError
from headwater.project.asset import Asset


class Graph:
    """Immutable DAG of :class:`Asset` by name. Construction validates edges and acyclicity."""

    def __init__(self, assets: Iterable[Asset]) -> None:
        self.assets: dict[str, Asset] = {}
        for asset in assets:
            self.assets[asset.name] = asset
        self.children: dict[str, list[str]] = {name: [] for name in self.assets}
        for asset in self.assets.values():
            for dep in asset.deps:
                if dep not in self.assets:
                    raise UnknownAssetError(f"{asset.location}: unknown dependency {dep!r}")
                self.children[dep].append(asset.name)
        self._order = self._toposort()

    def __iter__(self) -> Iterator[Asset]:
        return (self.assets[name] for name in self._order)

    def __len__(self) -> int:
        return len(self.assets)

    def __contains__(self, name: object) -> bool:
        return name in self.assets

    def __getitem__(self, name: str) -> Asset:
        return self.assets[name]

    def order(self, names: Iterable[str] | None = None) -> list[str]:
        """Names in dependency order (all, or the subset ``names``)."""
        if names is None:
            return list(self._order)
        wanted = set(names)
        return [n for n in self._order if n in wanted]

    def upstream(self, names: Iterable[str]) -> set[str]:
        """``names`` and everything they depend on, transitively."""
        return self._walk(names, lambda n: self.assets[n].deps)

    def downstream(self, names: Iterable[str]) -> set[str]:
        """``names`` and everything that depends on them, transitively."""
        return self._walk(names, lambda n: self.children[n])

    def _walk(self, names: Iterable[str], step: object) -> set[str]:
        seen: set[str] = set()
        stack = list(names)
        nxt = step  # a callable: name -> neighbours
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            stack.extend(nxt(name))  # type: ignore[operator]
        return seen

    def _toposort(self) -> list[str]:
        sorter: TopologicalSorter[str] = TopologicalSorter()
        for name in sorted(self.assets):
            sorter.add(name, *self.assets[name].deps)
        try:
            return list(sorter.static_order())
        except _GraphlibCycle as exc:
            cycle: list[str] = list(exc.args[1])[:-1]  # each node feeds the next
            raise CycleError(cycle) from None
