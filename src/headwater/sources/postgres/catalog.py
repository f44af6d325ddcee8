"""What PostgreSQL's catalog says about a read: the relation, and a plan per column.

Functions of two callables, so they hold no connection: ``rows(sql)`` runs a query and
returns its rows, ``describe(sql)`` returns the Arrow schema the driver would produce.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class PlannedRead:
    """A planned read: where from, which columns, which cursor window."""

    relation: Relation | None  # None for a query
    source: str  # what the SELECT reads: a table, or "(query) as q"
    plans: list[ColumnPlan]
    conditions: list[str]  # the window, as PostgreSQL conditions
    bounds: list[tuple[str, str, str]]  # the same, as (column, operator, value)

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
        "pg_relation_size(c.oid), n.nspname, c.relname from pg_class c join pg_namespace n "
        f"on n.oid = c.relnamespace where c.oid = to_regclass({literal(qualified)})"
    )
    if not found:
        return None
    oid, kind, qualified_name, size, nspname, relname = found[0]
    return Relation(
        int(oid), str(kind), str(qualified_name), int(size or 0), str(nspname), str(relname)
    )


def table_plans(
    rows: Rows, describe: Describe, rel: Relation
) -> tuple[list[ColumnPlan], dict[str, str]]:
    """A plan per column of ``rel`` (types from the catalog: typmods included), and each
    column's SQL type for cursor comparisons."""
    catalog = rows(
        "select attname, format_type(atttypid, atttypmod), atttypmod from pg_attribute "
        f"where attrelid = {rel.oid} and attnum > 0 and not attisdropped order by attnum"
    )
    if not catalog:
        return [], {}
    columns = ", ".join(ident(str(row[0])) for row in catalog)
    described = describe(f"select {columns} from {rel.qualified}")
    plans = [
        plan_column(field, source=ident(field.name), pg_type=str(pg), typmod=int(mod))
        for field, (_, pg, mod) in zip(described, catalog, strict=True)
    ]
    return plans, {str(row[0]): str(row[1]) for row in catalog}


def query_plans(describe: Describe, source: str) -> tuple[list[ColumnPlan], dict[str, str]]:
    """A plan per column of the query ``source`` (``(query) as q``): types from the driver."""
    described = describe(f"select * from {source}")
    plans = [plan_column(field, source=f"q.{ident(field.name)}") for field in described]
    cursor_types = {}
    for field in described:
        typname = (field.metadata or {}).get(b"POSTGRESQL:type", b"").decode()
        cursor_types[field.name] = ident(typname) if typname else "text"
    return plans, cursor_types
