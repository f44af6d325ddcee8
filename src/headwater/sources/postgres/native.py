"""Reading a PostgreSQL table with the warehouse's own reader instead of Arrow.

When the engine reads PostgreSQL itself (capability ``database_scan``: DuckDB's postgres
extension), a table whose every column it maps exactly is read that way. On TPC-H
lineitem that is about twice as fast as ADBC plus Arrow, because the rows go straight
from the wire into the warehouse's vectors (benchmarks/README.md). One column it cannot
map exactly sends the whole table through Arrow; :func:`plan` says which and why.

What the extension maps exactly, checked against the Arrow path type by type
(tests/sources/test_postgres_types.py runs every row of docs/types.md both ways):

- as is: smallint, integer, bigint, real, double, boolean, text, varchar, date, time,
  timestamp, timestamptz, interval, uuid, bytea, and ``numeric(p,s)`` with
  0 <= s <= p <= 38;
- with a cast in the warehouse: enums (``::VARCHAR``), json and jsonb (``::JSON``), oid
  (``::BIGINT``: the extension says UINTEGER);
- ``char(n)`` and ``bpchar``: the extension drops the trailing blanks, exactly those
  PostgreSQL's comparisons and its cast to text ignore: as is by default; with the
  source's ``char_padding = "keep"``, ``char(n)`` is padded back (``rpad(.., n)`` where
  shorter) and ``bpchar`` without a length, whose blanks cannot be told, goes through Arrow.

Not mapped (read through Arrow): unconstrained or wider numeric (the extension reads it
as DOUBLE), negative scales, money, domains, arrays, composites, and the types the Arrow
path sends as text.

One gap is closed by a probe: the extension reads a ``numeric`` NaN as 0. While the
warehouse scans, the server answers, on a connection of its own (:mod:`.probe`), whether
the window holds a NaN in each numeric column. Before the load commits,
:meth:`NativeRead.verify` looks for zeros in the loaded numeric columns (a columnar scan in
the warehouse); if a column with zeros has a NaN, the load fails as the Arrow path's does.
The probe reads in its own snapshot, beside the scan's: a NaN written and removed again
during the load can slip past it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from headwater.engines.base import SOURCE_TABLE
from headwater.errors import SourceError
from headwater.sources.postgres.catalog import Attribute, PlannedRead
from headwater.sources.postgres.pgtypes import (
    MAX_DECIMAL_PRECISION,
    ident,
    literal,
    numeric_typmod,
)

#: PostgreSQL type name -> what the warehouse selects from the extension's column ``{c}``
AS_IS = frozenset(
    [
        "int2",
        "int4",
        "int8",
        "float4",
        "float8",
        "bool",
        "text",
        "varchar",
        "date",
        "time",
        "timestamp",
        "timestamptz",
        "interval",
        "uuid",
        "bytea",
    ]
)
CAST = {"oid": "{c}::BIGINT", "json": "{c}::JSON", "jsonb": "{c}::JSON"}
#: cursor types compared in the warehouse as in PostgreSQL (the filter is pushed down)
CURSOR_TYPES = {
    "int2": "SMALLINT",
    "int4": "INTEGER",
    "int8": "BIGINT",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMPTZ",
}


def expression(column: Attribute, *, keep_char: bool = False) -> str | None:
    """The warehouse's select expression for ``column``, or None if it is not exact.
    ``keep_char``: ``char(n)`` values keep their padding (else their trailing blanks go).

    >>> expression(Attribute("n", "numeric", "b", ((12 << 16) | 2) + 4, "numeric(12,2)"))
    '"n"'
    >>> expression(Attribute("n", "numeric", "b", -1, "numeric")) is None
    True
    >>> expression(Attribute("c", "bpchar", "b", 3 + 4, "character(3)"))
    '"c"'
    >>> expression(Attribute("c", "bpchar", "b", 3 + 4, "character(3)"), keep_char=True)
    'CASE WHEN length("c") < 3 THEN rpad("c", 3, \\' \\') ELSE "c" END AS "c"'
    """
    c = ident(column.name)
    if column.typtype == "e":
        return f"{c}::VARCHAR AS {c}"
    if column.typtype != "b":
        return None
    if column.typname in AS_IS:
        return c
    if column.typname in CAST:
        return CAST[column.typname].format(c=c) + f" AS {c}"
    if column.typname == "numeric":
        return c if _exact_decimal(column.typmod) else None
    if column.typname == "bpchar" and not keep_char:
        return c  # the extension trims as PostgreSQL's ::text does (tested both ways)
    if column.typname == "bpchar" and column.typmod > 4:
        # rpad only the values the extension shortened: rpad on every value cost about
        # 0.37 CPU s per 10M values, the length() guard 0.04 s (most values are full width)
        n = column.typmod - 4
        return f"CASE WHEN length({c}) < {n} THEN rpad({c}, {n}, ' ') ELSE {c} END AS {c}"
    return None


def _exact_decimal(typmod: int) -> bool:
    """numeric(p,s) that DECIMAL(p,s) holds as declared: 0 <= s <= p <= 38."""
    declared = numeric_typmod(typmod)
    if declared is None:
        return False
    precision, scale = declared
    return 0 <= scale <= precision <= MAX_DECIMAL_PRECISION and precision >= 1


#: A window the planner expects to hold less than this share of the table is selective.
SELECTIVE_SHARE = 0.2


def selective(window_rows: float, table_rows: float) -> bool:
    """Whether a window of ``window_rows`` (the planner's estimate) is worth one indexed
    query rather than a parallel read of every page of a ``table_rows`` table.

    >>> selective(60_000, 6_000_000), selective(3_000_000, 6_000_000)
    (True, False)
    >>> selective(50, -1)  # never analyzed: judged by the window alone
    True
    """
    if table_rows <= 0:
        return window_rows < 100_000
    return window_rows < SELECTIVE_SHARE * table_rows


#: The probe's session runs in one server process. It only has to end before the scan
#: does, which it does by far, and the scan keeps the cores busy already. On SF1 lineitem
#: (2 cores, 3 rounds each) the probe took 1.21-1.35 CPU s in one process, 1.37-1.58 CPU s
#: (0.74-0.81 s wall) with PostgreSQL's default of 2 parallel workers.
PROBE_SETUP = ("set max_parallel_workers_per_gather = 0",)


@dataclass(frozen=True)
class NativeRead:
    """A plan to read one table natively: ``sql`` reads SOURCE_TABLE; see the module."""

    schema: str
    table: str
    sql: str
    numeric: list[str]  # columns where a NaN would have become 0
    qualified: str  # the table, for the probe
    conditions: list[str]  # the cursor window, as PostgreSQL conditions
    # the window is a small part of the table: read it with one query the server can plan
    # with an index, not in page ranges that read every page (set by the connector)
    selective: bool = False

    def zero_check(self, table: str) -> str | None:
        """A warehouse query: for each numeric column, whether ``table`` (the loaded
        rows) holds a 0. Only such columns can hide a NaN; most have no zero at all."""
        if not self.numeric:
            return None
        tests = ", ".join(f"bool_or({ident(n)} = 0)" for n in self.numeric)
        return f"select {tests} from {table}"

    def probe_sql(self) -> str | None:
        """A server query: for each numeric column, whether the window holds a NaN in it
        (NULL: no row has one). Infinities need no probe: a ``numeric(p,s)`` cannot hold
        them. None when the read has no numeric column.

        >>> print(NativeRead("s", "t", "", ["a", "b"], '"s"."t"', ["id > 5"]).probe_sql())
        select bool_or("a" = 'NaN'), bool_or("b" = 'NaN') from "s"."t" where ("a" = 'NaN' or "b" = 'NaN') and (id > 5)
        """
        if not self.numeric:
            return None
        nan = [f"{ident(n)} = 'NaN'" for n in self.numeric]
        found = ", ".join(f"bool_or({test})" for test in nan)
        where = " and ".join(f"({c})" for c in [" or ".join(nan), *self.conditions])
        return f"select {found} from {self.qualified} where {where}"

    def verify(
        self,
        warehouse: Callable[[str], list[tuple[Any, ...]]],
        table: str,
        probe: Callable[[], list[tuple[Any, ...]]],
    ) -> None:
        """Refuse the load if the window holds a numeric NaN: the extension read it as 0.
        ``warehouse`` runs a query there (``table`` holds the loaded rows); ``probe`` waits
        for the rows of :meth:`probe_sql`, which the connector started beside the scan.
        Only a column with a 0 among the loaded rows can hide a NaN: without one, the probe
        is not waited for."""
        check = self.zero_check(table)
        if check is None:
            return
        zeros = warehouse(check)[0]
        if not any(zeros):
            return
        found = probe()[0]
        names = [n for n, zero, nan in zip(self.numeric, zeros, found, strict=True) if zero and nan]
        if names:
            raise SourceError(
                f"a NaN in numeric column {' or '.join(repr(n) for n in names)}: DECIMAL has "
                "no NaN (cast the column to float8 or text in a query)"
            )


def plan(read: PlannedRead, *, keep_char: bool = False) -> NativeRead | str:
    """The native read of a table's planned read, or why it must go through Arrow.
    ``keep_char``: see :func:`expression`."""
    assert read.relation is not None, "a query is read through Arrow"
    by_name = {a.name: a for a in read.attributes}
    chosen = [by_name[p.name] for p in read.plans]
    select = []
    for column in chosen:
        expr = expression(column, keep_char=keep_char)
        if expr is None:
            return f"column {column.name!r} ({column.pg_type}) has no exact native reading"
        select.append(expr)
    where = []
    for name, op, value in read.bounds:
        cursor = by_name[name]
        kind = CURSOR_TYPES.get(cursor.typname)
        declared = numeric_typmod(cursor.typmod) if cursor.typname == "numeric" else None
        if declared is not None:
            kind = f"DECIMAL(38,{declared[1]})"
        if kind is None or not expression(cursor, keep_char=keep_char):
            return f"cursor column {name!r} ({cursor.pg_type}) is compared through Arrow"
        where.append(f"{ident(name)} {op} CAST({literal(value)} AS {kind})")
    sql = f"select {', '.join(select)} from {SOURCE_TABLE}"
    if where:
        sql += " where " + " and ".join(where)
    numeric = [c.name for c in chosen if c.typname == "numeric"]
    rel = read.relation
    return NativeRead(rel.schema, rel.name, sql, numeric, rel.qualified, read.conditions)
