"""The cursor callers outside the engine get: it takes the project's SQL (DuckDB's dialect,
``?`` placeholders), as the quality layer writes its checks and quarantine statements, and
runs it on PostgreSQL.

Each statement is parsed by sqlglot, its parameters bound as literals, the constructs
DuckDB has and PostgreSQL lacks rewritten (below), then rendered through
:mod:`headwater.engines.dialects` (a construct not proven on PostgreSQL is refused). Text
sqlglot cannot read runs as it is: PostgreSQL's own SQL passes through.

Rewritten: ``DESCRIBE rel`` (the relation's columns with DuckDB's type names, answered from
an empty select), ``rowid`` (``ctid``), ``TRY_CAST`` (NULL when the value does not cast,
``_headwater.fits``), ``CREATE OR REPLACE TEMP TABLE`` (create aside, drop, rename: it may
read itself), ``INSERT ... BY NAME`` (the select's names as the column list), ``SELECT *
EXCLUDE (...)`` (the other columns), ``string_split`` (``string_to_array``),
``bit_count(bitstring_agg(x, ...))`` (``count(distinct x)``), ``typeof`` (``pg_typeof``,
upper case), ``list_distinct(min(x, n))`` (the ``n`` smallest distinct values: a
relationships check's orphan keys), a subquery in FROM without an
alias (one given). Inside a transaction each statement runs in a savepoint, so a statement
the caller expects may fail (and catches) leaves the transaction usable, as on DuckDB.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import count
from typing import Any

from psycopg.pq import TransactionStatus

from headwater.engines.postgres.connection import PgCursor
from headwater.engines.postgres.sql import ident

_DESCRIBE_TOP = re.compile(r"^\s*describe\s+(.+?)\s*;?\s*$", re.I | re.S)
_DESCRIBE_SUB = re.compile(r"\(\s*describe\s+((?:\"[^\"]*\"|[\w.])+)\s*\)", re.I)
#: PostgreSQL type names -> DuckDB's, as DESCRIBE names them (the quality layer reads them)
_DUCK_TYPES = {
    "smallint": "SMALLINT", "integer": "INTEGER", "bigint": "BIGINT", "real": "FLOAT",
    "double precision": "DOUBLE", "text": "VARCHAR", "character varying": "VARCHAR",
    "boolean": "BOOLEAN", "date": "DATE", "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMP WITH TIME ZONE", "time without time zone": "TIME",
    "bytea": "BLOB", "json": "JSON", "jsonb": "JSON", "interval": "INTERVAL", "tid": "BIGINT",
    "uuid": "UUID",
}  # fmt: skip
_TYPE_NAMES: dict[int, str] = {}  # type oid -> format_type's name (built-in oids are fixed)
#: columns of the engine's own staging, not the data's
_HIDDEN = {"_hw_seq"}


def duck_type(pg: str) -> str:
    """A PostgreSQL type (``format_type``'s name) as DuckDB's DESCRIBE names it."""
    if pg.startswith("numeric"):
        return "DECIMAL" + pg[len("numeric") :] if "(" in pg else "DECIMAL(38,9)"
    if pg.endswith("[]"):
        return duck_type(pg[:-2]) + "[]"
    return _DUCK_TYPES.get(pg, pg.upper())


class ProjectCursor:
    """A :class:`~headwater.engines.protocol.Cursor` taking project SQL (see the module)."""

    def __init__(self, cur: PgCursor) -> None:
        from psycopg.types.string import TextLoader

        self.pg = cur
        self._rows: list[tuple[Any, ...]] | None = None
        for json_type in ("json", "jsonb"):  # JSON answers as its text, as DuckDB gives it
            cur.raw.adapters.register_loader(json_type, TextLoader)

    @property
    def raw(self) -> Any:
        """psycopg's cursor, for PostgreSQL's own SQL."""
        return self.pg.raw

    def execute(self, sql: str, parameters: object = None, /) -> ProjectCursor:
        self._rows = None
        params = list(parameters) if isinstance(parameters, list | tuple) else []
        top = _DESCRIBE_TOP.match(sql)
        if top:
            self._rows = [(n, t, "YES", None, None, None) for n, t in self.describe(top[1])]
            return self
        text = _DESCRIBE_SUB.sub(lambda m: self._describe_values(m[1]), sql)
        statements = self._translated(text, params)
        conn = self.pg.connection
        if conn.info.transaction_status == TransactionStatus.INTRANS:  # a savepoint: usable
            with conn.transaction():
                for statement in statements:
                    self.pg.raw.execute(statement.encode())
        else:
            for statement in statements:
                self.pg.raw.execute(statement.encode())
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._rows is not None:
            return self._rows.pop(0) if self._rows else None
        return self.pg.fetchone()

    def fetchall(self) -> list[Any]:
        if self._rows is not None:
            rows, self._rows = self._rows, []
            return rows
        return self.pg.fetchall()

    @property
    def description(self) -> Sequence[Any] | None:
        return self.pg.description

    @property
    def rowcount(self) -> int:
        return self.pg.rowcount

    # -- DESCRIBE ---------------------------------------------------------------------------

    def describe(self, relation: str) -> list[tuple[str, str]]:
        """(column, DuckDB type) of a relation or a query, in order."""
        body = (
            relation
            if relation.lower().lstrip().startswith(("select", "with", "("))
            else (f"select * from {relation}")
        )
        query = self._translated(body, [])[-1]
        self.pg.raw.execute(f"select * from ({query}) as _hw_d limit 0".encode())
        out = []
        for column in self.pg.raw.description or []:
            if column.name in _HIDDEN:
                continue
            pg = self._type_name(column.type_code)
            if pg == "numeric" and column.precision is not None:
                pg = f"numeric({column.precision},{column.scale or 0})"
            out.append((column.name, duck_type(pg)))
        return out

    def _type_name(self, oid: int) -> str:
        name = _TYPE_NAMES.get(oid)
        if name is None:
            row = self.pg.connection.execute("select format_type(%s, null)", [oid]).fetchone()
            name = _TYPE_NAMES[oid] = str(row[0]) if row else "text"
        return name

    def _describe_values(self, relation: str) -> str:
        rows = self.describe(relation)
        if not rows:
            return "(select null::text as column_name, null::text as column_type limit 0)"
        values = ", ".join(
            "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in row) + ")" for row in rows
        )
        return f"(select * from (values {values}) as _hw_v(column_name, column_type))"

    # -- translation ------------------------------------------------------------------------

    def _translated(self, sql: str, params: list[Any]) -> list[str]:
        import sqlglot

        from headwater.engines.dialects import render_tree
        from headwater.project.sql_errors import PROJECT_DIALECT

        try:
            trees = [t for t in sqlglot.parse(sql, dialect=PROJECT_DIALECT) if t is not None]
        except sqlglot.errors.ParseError:
            return [sql]  # PostgreSQL's own SQL, as it is
        values = iter(params)
        out: list[str] = []
        for tree in trees:
            if params:
                tree = tree.transform(lambda n: _bind(n, values, params))
            tree = tree.transform(_duck_only)
            tree = self._expand(tree)
            before, tree, after = _replace_table(tree)
            rendered = render_tree(tree, "postgres") if not isinstance(tree, str) else tree
            out += [*before, rendered, *after]
        return out

    def _expand(self, tree: Any) -> Any:
        """``* EXCLUDE`` and ``INSERT ... BY NAME``, which need the columns of relations."""
        from sqlglot import exp

        for star in list(tree.find_all(exp.Star)):
            self._exclude(star)
        if isinstance(tree, exp.Insert) and tree.args.get("by_name"):
            self._by_name(tree)
        return tree

    def _exclude(self, star: Any) -> None:
        """``SELECT * EXCLUDE (a)`` as the relation's other columns."""
        from sqlglot import exp

        excluded = star.args.get("except_") or star.args.get("except")
        select = star.parent
        source = select.args.get("from_") if isinstance(select, exp.Select) else None
        if not excluded or source is None:
            return
        dropped = {e.name.lower() for e in excluded}
        columns = self.describe(source.this.sql(dialect="duckdb"))
        keep = [c for c, _ in columns if c.lower() not in dropped]
        index = select.expressions.index(star)
        select.expressions[index : index + 1] = [exp.column(c, quoted=True) for c in keep]

    def _by_name(self, insert: Any) -> None:
        """``INSERT INTO t BY NAME SELECT ...`` with the select's names as t's columns."""
        from sqlglot import exp

        query = insert.expression
        names: list[str] = []
        if isinstance(query, exp.Select):
            names = [e.alias_or_name for e in query.expressions]
        if "*" in names or not names:
            names = [c for c, _ in self.describe(query.sql(dialect="duckdb"))]
        insert.set("by_name", None)
        target = insert.this if isinstance(insert.this, exp.Table) else insert.this.this
        columns = [exp.to_identifier(n, quoted=True) for n in names]
        insert.set("this", exp.Schema(this=target.copy(), expressions=columns))


_ALIASES = count()


def _bind(node: Any, values: Any, params: list[Any]) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.Placeholder):
        return exp.convert(next(values))
    if isinstance(node, exp.Parameter) and node.name.isdigit():
        return exp.convert(params[int(node.name) - 1])
    return node


def _duck_only(node: Any) -> Any:
    """The node in SQL PostgreSQL has (see the module's list)."""
    import sqlglot
    from sqlglot import exp

    if isinstance(node, exp.Column) and not node.table and node.name.lower() == "rowid":
        return exp.column("ctid")
    if isinstance(node, exp.Column) and node.table and node.name.lower() == "rowid":
        return exp.column("ctid", table=node.table)
    if isinstance(node, exp.Typeof):
        # DuckDB's type names are upper case; the integer ones read the same
        typeof = exp.Anonymous(this="pg_typeof", expressions=[node.this.copy()])
        return exp.Upper(this=exp.cast(typeof, "text"))
    if isinstance(node, exp.TryCast):
        target = node.to.sql(dialect="postgres")
        fits = exp.func(
            "_headwater.fits", exp.cast(node.this.copy(), "text"), exp.Literal.string(target)
        )
        return exp.Case(
            ifs=[exp.If(this=fits, true=exp.Cast(this=node.this.copy(), to=node.to.copy()))]
        )
    if (
        isinstance(node, exp.ArrayDistinct)
        and isinstance(node.this, exp.Min)
        and node.this.args.get("count") is not None
    ):
        # list_distinct(min(x, n)), a relationships check's orphan keys: the n smallest
        value, n = node.this.this.sql(dialect="postgres"), node.this.args["count"].name
        return sqlglot.parse_one(
            f"(array_agg(distinct {value} order by {value}))[1:{n}]", read="postgres"
        )
    if isinstance(node, exp.Split):
        return exp.Anonymous(
            this="string_to_array", expressions=[node.this.copy(), node.expression.copy()]
        )
    if isinstance(node, exp.Anonymous) and node.name.lower() == "bit_count":
        inner = node.expressions[0] if node.expressions else None
        if isinstance(inner, exp.Anonymous) and inner.name.lower() == "bitstring_agg":
            return exp.Count(this=exp.Distinct(expressions=[inner.expressions[0].copy()]))
    if (
        isinstance(node, exp.Subquery)
        and not node.alias
        and isinstance(node.parent, exp.From | exp.Join)
    ):
        node.set("alias", exp.TableAlias(this=exp.to_identifier(f"_hw_s{next(_ALIASES)}")))
    return node


def _replace_table(tree: Any) -> tuple[list[str], Any, list[str]]:
    """``CREATE OR REPLACE [TEMP] TABLE t AS q`` as: create aside, drop t, rename."""
    from sqlglot import exp

    if not (isinstance(tree, exp.Create) and tree.args.get("replace") and tree.kind == "TABLE"):
        return [], tree, []
    table = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    name = table.name
    aside = f"_hw_new_{name}"
    tree.set("replace", False)
    new_table = table.copy()
    new_table.set("this", exp.to_identifier(aside, quoted=True))
    tree.set("this", new_table)
    qualified = table.sql(dialect="postgres")
    return (
        [f"drop table if exists {ident(aside)}"],
        tree,
        [
            f"drop table if exists {qualified}",
            f"alter table {new_table.sql(dialect='postgres')} rename to {ident(name)}",
        ],
    )
