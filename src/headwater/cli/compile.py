"""``headwater compile``: the plan of a selection and the SQL each of its models would run.

Touches nothing: no warehouse, no metastore, no ``.headwater/`` folder (the parse cache is
read when there is one, never written). The output is SQL text: the plan and each model's
heading are ``--`` comments, each SELECT ends with ``;``.
"""

from __future__ import annotations

from pathlib import Path


def compile_command(project: Path, include: list[str], exclude: list[str]) -> str:
    """The plan (steps in execution order) then the compiled SQL of every selected SQL
    model (:func:`headwater.api.compile`); a project error (bad SQL, unknown asset, empty
    selection) raises as for ``run``."""
    from headwater import api

    plan = api.compile(project, include, exclude)
    out = [f"-- plan: {len(plan.steps)} steps, in execution order"]
    out += [f"--   {i}. {name} ({kind})" for i, (name, kind) in enumerate(plan.steps, 1)]
    for model in plan.models:
        out.append("")
        if model.sql is None:
            out.append(f"-- {model.name}: Python model {model.location} (its function builds it)")
            continue
        out.append(f"-- {model.name}: {model.kind}, {model.path}")
        sql = model.sql.rstrip()
        # a last line that is a comment would swallow the ";"
        out.append(sql + ("\n;" if "--" in sql.splitlines()[-1] else ";"))
    return "\n".join(out)
