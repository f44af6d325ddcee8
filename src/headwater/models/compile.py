"""Turn a model's SQL as written into SQL the engine runs: every asset reference qualified.

A model may write ``from stg_orders``; the table lives in ``staging.stg_orders``. The SQL is
rewritten only when a reference is unqualified, so most models run exactly as written.
"""

from __future__ import annotations

from headwater.project.asset import Asset
from headwater.project.graph import Graph
from headwater.project.sql_model import DIALECT


def compile_sql(asset: Asset, graph: Graph, *, dialect: str = DIALECT) -> str:
    """The model's SELECT with unqualified asset names replaced by ``schema.table``."""
    assert asset.sql is not None
    by_short = {graph[d].short_name: graph[d] for d in asset.deps}
    self_short = {asset.short_name: asset}
    targets = {**by_short, **self_short}
    if dialect == DIALECT and not _has_unqualified(asset.sql, targets):
        return asset.sql
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(asset.sql, dialect=DIALECT)
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.db or table.name in ctes or table.name not in targets:
            continue
        target = targets[table.name]
        table.set("db", exp.to_identifier(target.schema))
        table.set("this", exp.to_identifier(target.table))
        if not table.alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(target.table)))
    return tree.sql(dialect=dialect)


def _has_unqualified(sql: str, targets: dict[str, Asset]) -> bool:
    lowered = sql.lower()
    return any(name.lower() in lowered for name in targets)
