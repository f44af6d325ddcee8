"""What PostgreSQL's catalog says about a read: the relation, and a plan per column.

Functions of two callables, so they hold no connection: ``rows(sql)`` runs a query and
returns its rows, ``describe(sql)`` returns the Arrow schema the driver would produce.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pyarrow as pa

from headwater.sources.postgres.pgtypes import ColumnPlan, ident, literal, plan_column

Rows = Callable[[str], list[tuple[Any, ...]]]
Describe = Callable[[str], pa.Schema]


@dataclass(frozen=True)
class Relation:
    """A table, view or materialized view, as the catalog has it."""

    oid: int
    kind: str  # pg_class.relkind
    qualified: str  # "schema"."table", quoted as needed
    size: int  # bytes of the main fork
    schema: str
    name: str
    rows_estimate: float  # pg_class.reltuples: -1 if never analyzed


class Attribute(NamedTuple):
    """A column of a relation, as the catalog has it."""

    name: str
    typname: str  # pg_type.typname: int4, numeric, bpchar, an enum's name...
    typtype: str  # b base, e enum, d domain, c composite...
    typmod: int  # atttypmod: -1 if none
    pg_type: str  # format_type(): the declared type, for messages and casts


@dataclass(frozen=True)
class PlannedRead:
    """A planned read: where from, which columns, which cursor window."""

    relation: Relation | None  # None for a query
    source: str  # what the SELECT reads: a table, or "(query) as q"
    plans: list[ColumnPlan]
    conditions: list[str]  # the window, as PostgreSQL conditions
    bounds: list[tuple[str, str, str]]  # the same, as (column, operator, value)
    attributes: list[Attribute] = field(default_factory=list)  # a table's; [] for a query
    params: tuple[Any, ...] = ()  # the values of $1, $2 (the run's interval), bound

    def sql(self, extra: str | None = None) -> str:
        """The SELECT of this read, with ``extra`` (a range) added to the window."""
        conds = [*self.conditions, *([extra] if extra else [])]
        where_sql = f" where {' and '.join(f'({c})' for c in conds)}" if conds else ""
        return f"select {', '.join(p.expr for p in self.plans)} from {self.source}{where_sql}"


def relation(rows: Rows, table: str) -> Relation | None:
    """The relation ``table`` (``name`` or ``schema.name``) names, None if there is none."""
    schema, _, name = table.rpartition(".")
    qualified = (ident(schema) + "." if schema else "") + ident(name)
    found = rows(
        "select c.oid, c.relkind, quote_ident(n.nspname) || '.' || quote_ident(c.relname), "
        "pg_relation_size(c.oid), n.nspname, c.relname, c.reltuples "
        "from pg_class c join pg_namespace n "
        f"on n.oid = c.relnamespace where c.oid = to_regclass({literal(qualified)})"
    )
    if not found:
        return None
    oid, kind, qualified_name, size, nspname, relname, reltuples = found[0]
    return Relation(
        int(oid),
        str(kind),
        str(qualified_name),
        int(size or 0),
        str(nspname),
        str(relname),
        float(reltuples if reltuples is not None else -1),
    )


def attributes(rows: Rows, rel: Relation) -> list[Attribute]:
    """The columns of ``rel``, in order."""
    found = rows(
        "select a.attname, t.typname, t.typtype, a.atttypmod, "
        "format_type(a.atttypid, a.atttypmod) from pg_attribute a "
        f"join pg_type t on t.oid = a.atttypid where a.attrelid = {rel.oid} "
        "and a.attnum > 0 and not a.attisdropped order by a.attnum"
    )
    return [Attribute(str(n), str(t), str(k), int(m), str(f)) for n, t, k, m, f in found]


def table_plans(
    describe: Describe, rel: Relation, attrs: list[Attribute], *, trim_char: bool = True
) -> tuple[list[ColumnPlan], dict[str, str]]:
    """A plan per column of ``rel`` (types from the catalog: typmods included), and each
    column's SQL type for cursor comparisons. ``trim_char``: see :func:`plan_column`."""
    if not attrs:
        return [], {}
    columns = ", ".join(ident(a.name) for a in attrs)
    described = describe(f"select {columns} from {rel.qualified}")
    plans = [
        plan_column(
            f, source=ident(f.name), pg_type=a.pg_type, typmod=a.typmod, trim_char=trim_char
        )
        for f, a in zip(described, attrs, strict=True)
    ]
    return plans, {a.name: a.pg_type for a in attrs}


def query_plans(
    describe: Describe, source: str, *, trim_char: bool = True
) -> tuple[list[ColumnPlan], dict[str, str]]:
    """A plan per column of the query ``source`` (``(query) as q``): types from the driver.
    ``trim_char``: see :func:`plan_column`."""
    described = describe(f"select * from {source}")
    plans = [plan_column(f, source=f"q.{ident(f.name)}", trim_char=trim_char) for f in described]
    cursor_types = {}
    for f in described:
        typname = (f.metadata or {}).get(b"POSTGRESQL:type", b"").decode()
        cursor_types[f.name] = ident(typname) if typname else "text"
    return plans, cursor_types
