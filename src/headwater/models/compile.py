"""Turn a model's SQL as written into SQL the engine runs: every asset reference qualified.

A model may write ``from stg_orders``; the table lives in ``staging.stg_orders``. The SQL is
rewritten only when a reference is unqualified, so most models run exactly as written.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from headwater.project.asset import Asset
from headwater.project.graph import Graph
from headwater.project.sql_model import DIALECT


class CompiledCache:
    """Compiled SQL kept between runs in one JSON file, keyed by a digest of what the result
    depends on (the SQL as written, the names it may read and where they live, the dialect):
    parsing and regenerating a model costs about a millisecond, at every run otherwise.

    Safe to use from several threads; :meth:`save` writes it back (best effort: a read-only
    project still runs).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._added = False
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        self._sql: dict[str, str] = data if isinstance(data, dict) else {}

    def compile(self, asset: Asset, graph: Graph, *, dialect: str = DIALECT) -> str:
        """:func:`compile_sql`, remembered."""
        assert asset.sql is not None
        targets = _targets(asset, graph)
        if dialect == DIALECT and not _has_unqualified(asset.sql, targets):
            return asset.sql
        where = sorted((short, a.schema, a.table) for short, a in targets.items())
        key = hashlib.sha1(json.dumps([dialect, asset.sql, where]).encode()).hexdigest()
        cached = self._sql.get(key)
        if cached is None:
            cached = _qualify(asset.sql, targets, dialect)
            with self._lock:
                self._sql[key] = cached
                self._added = True
        return cached

    def save(self) -> None:
        if not self._added:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")  # two runs may save at once
            with self._lock:
                tmp.write_text(json.dumps(self._sql), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            pass


def compile_sql(asset: Asset, graph: Graph, *, dialect: str = DIALECT) -> str:
    """The model's SELECT with unqualified asset names replaced by ``schema.table``."""
    assert asset.sql is not None
    targets = _targets(asset, graph)
    if dialect == DIALECT and not _has_unqualified(asset.sql, targets):
        return asset.sql
    return _qualify(asset.sql, targets, dialect)


def _qualify(sql: str, targets: dict[str, Asset], dialect: str) -> str:
    import sqlglot
    from sqlglot import exp

    from headwater.engines.dialects import render_tree

    tree = sqlglot.parse_one(sql, dialect=DIALECT)
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.db or table.name in ctes or table.name not in targets:
            continue
        target = targets[table.name]
        table.set("db", exp.to_identifier(target.schema))
        table.set("this", exp.to_identifier(target.table))
        if not table.alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(target.table)))
    return render_tree(tree, dialect)


def _targets(asset: Asset, graph: Graph) -> dict[str, Asset]:
    by_short = {graph[d].short_name: graph[d] for d in asset.deps}
    return {**by_short, asset.short_name: asset}


def _has_unqualified(sql: str, targets: dict[str, Asset]) -> bool:
    lowered = sql.lower()
    return any(name.lower() in lowered for name in targets)
