"""Project SQL (written in DuckDB's dialect, docs/project-format.md) rendered for an
engine's dialect (``Capabilities.dialect``), as an ordered list of small pure steps:

1. ``parse``: the text, as sqlglot reads it in the project's dialect;
2. ``refuse``: a construct not proven to answer on the target as on DuckDB
   (:mod:`headwater.engines.constructs`) raises :class:`Untranslatable`;
3. ``rewrite``: the target's own rewrites (:data:`REWRITES`), where sqlglot's translation
   is not valid there or answers differently;
4. ``generate``: the statement in the target's dialect.

For the project's own dialect nothing is parsed: the text is the SQL (DuckDB runs what the
project wrote, at the same speed as before rendering existed).

>>> render("select 1 as x", "duckdb")
'select 1 as x'
>>> render("select list(x order by y) from t", "spark")
Traceback (most recent call last):
...
headwater.engines.dialects.Untranslatable: ordered list aggregate does not translate to spark (it would answer differently)
>>> render("select a from t where b > 1", "postgres")
'SELECT a FROM t WHERE b > 1'
>>> refusal("select *\\nfrom t\\nqualify row_number() over () = 1", "postgres")
SyntaxProblem(offset=16, message='QUALIFY with * does not translate to postgres (it would answer differently)')
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import TYPE_CHECKING, Any

from headwater.project.sql_errors import PROJECT_DIALECT, SqlValidator, SyntaxProblem

if TYPE_CHECKING:  # sqlglot loads with the first SQL rendered, not with every import
    from headwater.engines.constructs import Construct


class Untranslatable(ValueError):
    """A construct of the SQL would not answer on the target as on DuckDB."""

    def __init__(self, construct: Construct, target: str, why: str = "") -> None:
        super().__init__(
            f"{construct.name} does not translate to {target} (it would answer differently)"
            + (f": {why}" if why else "")
        )
        self.construct = construct
        self.target = target


def _parse(sql: Any, target: str) -> Any:
    import sqlglot

    return sqlglot.parse_one(sql, dialect=PROJECT_DIALECT)


def _refuse(tree: Any, target: str) -> Any:
    from headwater.engines.constructs import unverified

    refused = unverified(tree, target)
    if refused:
        raise Untranslatable(refused[0], target)
    return tree


#: Target dialect -> "module:function" rewriting a parsed statement where sqlglot's own
#: translation is invalid there or answers differently (proven by the golden cases).
REWRITES: dict[str, str] = {
    "postgres": "headwater.engines.postgres.rewrite:rewrite",
    "spark": "headwater.engines.spark.rewrite:rewrite",
}


def _rewrite(tree: Any, target: str) -> Any:
    where = REWRITES.get(target)
    if where is None:
        return tree
    import importlib

    module, name = where.split(":")
    return getattr(importlib.import_module(module), name)(tree)


def _generate(tree: Any, target: str) -> Any:
    return tree.sql(dialect=target)


#: The steps, in order: each takes what the previous one made and the target dialect.
STEPS: tuple[tuple[str, Callable[[Any, str], Any]], ...] = (
    ("parse", _parse),
    ("refuse", _refuse),
    ("rewrite", _rewrite),
    ("generate", _generate),
)


def render(sql: str, target: str) -> str:
    """``sql`` (project dialect) as the ``target`` dialect runs it; raises
    :class:`Untranslatable` for a construct it would answer differently."""
    if target == PROJECT_DIALECT:
        return sql
    return str(reduce(lambda value, step: step[1](value, target), STEPS, sql))


def render_tree(tree: Any, target: str) -> str:
    """A statement sqlglot already parsed in the project dialect (and perhaps changed, e.g.
    names qualified), through the remaining steps."""
    steps = STEPS[1:] if target != PROJECT_DIALECT else STEPS[2:]
    return str(reduce(lambda value, step: step[1](value, target), steps, tree))


def refusal(sql: str, target: str) -> SyntaxProblem | None:
    """Why ``sql`` cannot run on ``target`` (where its first untranslatable construct is,
    and the construct's name), or None. Text sqlglot cannot parse is left to the parser."""
    if target == PROJECT_DIALECT:
        return None
    try:
        _refuse(_parse(sql, target), target)
    except Untranslatable as exc:
        match = exc.construct.pattern.search(sql)
        return SyntaxProblem(match.start() if match else 0, str(exc))
    except Exception:  # sqlglot's parse error: the engine's parser has its say
        return None
    return None


def validator_for(parse: SqlValidator, target: str) -> SqlValidator:
    """A project loader's validator: ``parse`` (the project dialect's parser) and then the
    target's refusals. ``cache_tag`` keeps a text checked for one target from being trusted
    for another."""

    def check(text: str) -> SyntaxProblem | None:
        return parse(text) or refusal(text, target)

    check.cache_tag = "" if target == PROJECT_DIALECT else f":{target}"  # type: ignore[attr-defined]
    return check
