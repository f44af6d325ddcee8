"""``headwater compile``: the plan of a selection and the SQL each of its models would run.

Touches nothing: no warehouse, no metastore, no ``.headwater/`` folder (the parse cache is
read when there is one, never written). The output is SQL text: the plan and each model's
heading are ``--`` comments, each SELECT ends with ``;``.
"""

from __future__ import annotations

from pathlib import Path

from headwater.project.asset import Asset


def compile_command(project: Path, include: list[str], exclude: list[str]) -> str:
    """The plan (steps in execution order) then the compiled SQL of every selected SQL
    model; a project error (bad SQL, unknown asset, empty selection) raises as for ``run``."""
    from headwater.engines import sql_validator
    from headwater.models.compile import compile_sql
    from headwater.project import load_project, select

    loaded = load_project(project, sql_validator=sql_validator("duckdb"), write_cache=False)
    graph = loaded.graph
    names = select(graph, include, exclude)
    out = [f"-- plan: {len(names)} steps, in execution order"]
    out += [f"--   {i}. {name} ({_kind(graph[name])})" for i, name in enumerate(names, 1)]
    for name in names:
        asset = graph[name]
        if asset.kind != "model":
            continue
        out.append("")
        if asset.sql is None:
            out.append(f"-- {name}: Python model {asset.location} (its function builds it)")
            continue
        out.append(f"-- {name}: {_kind(asset)}, {asset.path}")
        # qualified against the whole graph: an input outside the selection still has a table
        sql = compile_sql(asset, graph).rstrip()
        # a last line that is a comment would swallow the ";"
        out.append(sql + ("\n;" if "--" in sql.splitlines()[-1] else ";"))
    return "\n".join(out)


def _kind(asset: Asset) -> str:
    if asset.kind != "model" or asset.model is None:
        return asset.kind
    if asset.sql is None:  # a Python model's result is written as a table, never a view
        return "python " + asset.model.materialized.replace("view", "table")
    return asset.model.materialized
