"""Correlated subqueries turned into joins before PostgreSQL runs a query.

PostgreSQL runs a subquery that reads a column of the outer query (a correlated subquery)
once per outer row, and the warehouse's tables have no indexes (Headwater makes none), so
each run scans its table again: TPC-H q02, q17 and q20 at scale 1 ran past 120 s where
DuckDB, which decorrelates, answers in 0.03 s. sqlglot's optimizer rule
``unnest_subqueries`` rewrites such a subquery as a LEFT JOIN to the subquery grouped by its
correlation keys: a scalar aggregate compared with ``<``, ``=``, ``>`` (NULL where a key has
no rows, a ``count`` 0), ``IN``, and ``EXISTS`` beside them. It needs every column bound to
its table, so the query is first qualified against the columns the catalog gives for the
tables it reads.

It is all or nothing, and only for a query with a correlated subquery PostgreSQL runs per
row (a correlated ``EXISTS`` alone it plans as a semi join). The query runs as written when
a table is not named with its schema, a column does not resolve, the rewrite needs an array
function PostgreSQL lacks or a CROSS JOIN to a subquery that may not give one row, the
rewritten query does not plan, or its columns differ from the query's in names or types. It
never raises. The golden cases ``correlated_*`` prove the constructs answer as DuckDB does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.engines.postgres.connection import PgCursor
from headwater.engines.postgres.sql import qualified

if TYPE_CHECKING:
    from sqlglot import exp

_COLUMNS = (
    "select attname, format_type(atttypid, atttypmod) from pg_attribute "
    "where attrelid = to_regclass(?) and attnum > 0 and not attisdropped order by attnum"
)
#: Aliases sqlglot gives the joins it makes: a query using such a name is left alone
_OURS = "_u_"


def decorrelated(cur: PgCursor, sql: str) -> str:
    """``sql`` (PostgreSQL's dialect) with its correlated subqueries as joins, or ``sql``
    itself when it has none or the rewrite is not proven safe for it (see the module)."""
    lowered = sql.lower()
    if lowered.count("select") < 2 or _OURS in lowered:
        return sql
    try:
        # a savepoint: a statement PostgreSQL refuses leaves the caller's transaction usable
        with cur.transaction():
            tree = _unnested(cur, sql)
            if tree is None:
                return sql
            shape = _shape(cur, sql)
            rewritten = _named(tree, [name for name, _ in shape])
            return rewritten if _shape(cur, rewritten) == shape else sql
    except Exception:  # any refusal, sqlglot's or PostgreSQL's: the query as written
        return sql


def _unnested(cur: PgCursor, sql: str) -> exp.Query | None:
    """The query rewritten, or None when it has no correlated subquery or the rewrite
    would not run on PostgreSQL."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import traverse_scope
    from sqlglot.optimizer.unnest_subqueries import unnest_subqueries
    from sqlglot.schema import MappingSchema

    tree = sqlglot.parse_one(sql, dialect="postgres")
    if not isinstance(tree, exp.Query):
        return None
    tables = _tables(tree)
    if tables is None:
        return None
    schema = MappingSchema(_catalog(cur, tables), dialect="postgres", normalize=False)
    # alias references stay as written: PostgreSQL and sqlglot resolve a name that is both
    # a column and an output alias differently in GROUP BY
    tree = qualify(tree, dialect="postgres", schema=schema, expand_alias_refs=False)
    if not any(_per_row(scope) for scope in traverse_scope(tree)):
        return None
    for join in tree.find_all(exp.Join):
        # ``from a, b left join j on a.k = j.k`` is invalid in PostgreSQL: its comma binds
        # looser than JOIN, so ``on`` sees only b. CROSS JOIN means the same and binds left
        # to right, so the joins the rewrite appends see every table before them.
        if not (join.kind or join.side or join.args.get("on") or join.args.get("using")):
            join.set("kind", "CROSS")
    before = _risky(tree)
    tree = unnest_subqueries(tree)
    if _risky(tree) != before or not all(_one_row(j) for j in tree.find_all(exp.Join)):
        return None
    return tree


def _named(tree: exp.Query, names: list[str]) -> str:
    """The query's SQL with its output columns named as PostgreSQL named the original's
    (qualifying names an unnamed expression ``_col_0``)."""
    from sqlglot import exp

    if isinstance(tree, exp.Select) and len(tree.expressions) == len(names):
        pairs = zip(tree.expressions, names, strict=True)
        tree.set("expressions", [exp.alias_(e.unalias(), n, quoted=True) for e, n in pairs])
    return str(tree.sql(dialect="postgres"))


def _per_row(scope: Any) -> bool:
    """Whether PostgreSQL would run this subquery once per outer row: it is correlated
    and not an EXISTS, which PostgreSQL plans as a semi or anti join itself (faster than
    the rewrite: TPC-H q04 0.9 s as written, 2.9 s rewritten)."""
    from sqlglot import exp

    return bool(scope.is_correlated_subquery) and not isinstance(
        scope.expression.parent, exp.Exists
    )


def _tables(tree: exp.Expr) -> set[tuple[str, str]] | None:
    """(schema, table) of every table the query reads, or None when one is not named
    with its schema (the search path would decide) or is a function."""
    from sqlglot import exp

    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    out: set[tuple[str, str]] = set()
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier) or table.catalog:
            return None
        if not table.db:
            if table.name in ctes:
                continue
            return None
        out.add((table.db, table.name))
    return out


def _catalog(cur: PgCursor, tables: set[tuple[str, str]]) -> dict[str, Any]:
    """{schema: {table: {column: type}}} as the catalog has them (exact names)."""
    mapping: dict[str, Any] = {}
    for schema, table in sorted(tables):
        rows = cur.execute(_COLUMNS, [qualified(schema, table)]).fetchall()
        if not rows:
            raise LookupError(f"{schema}.{table}: no such relation")
        mapping.setdefault(schema, {})[table] = {str(n): str(t) for n, t in rows}
    return mapping


def _risky(tree: exp.Expr) -> int:
    """How many nodes the rewrite must not add: array functions and lambdas PostgreSQL
    lacks, and a ``max`` over a scalar subquery's rows (PostgreSQL raises on a second)."""
    from sqlglot import exp

    kinds = (exp.ArrayAny, exp.ArrayAll, exp.ArrayAgg, exp.Lambda, exp.Max)
    return len(list(tree.find_all(*kinds)))


def _one_row(join: exp.Join) -> bool:
    """Whether a CROSS JOIN to a subquery (sqlglot's rewrite of an uncorrelated scalar
    subquery) joins exactly one row: an aggregate with no GROUP BY, HAVING or LIMIT. Zero
    rows would remove every row of the query, where the subquery's NULL might have kept
    them (``a or x = (select ...)``), and two would double them (a window function gives a
    row per input row)."""
    from sqlglot import exp

    ours = isinstance(join.this, exp.Subquery) and join.this.alias.startswith(_OURS)
    if join.kind != "CROSS" or not ours:
        return True
    inner = join.this.this
    return (
        isinstance(inner, exp.Select)
        and not any(inner.args.get(k) for k in ("group", "having", "limit", "offset"))
        and all(e.find(exp.AggFunc) and not e.find(exp.Window) for e in inner.expressions)
    )


def _shape(cur: PgCursor, sql: str) -> list[tuple[str, int]]:
    """The query's column names and types, as PostgreSQL plans it (no row read)."""
    cur.execute(f"select * from ({sql}) as _hw_shape limit 0")
    return [(d.name, d.type_code) for d in cur.description or []]
