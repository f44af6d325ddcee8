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
  (``::BIGINT``: the extension says UINTEGER), ``char(n)`` (``rpad(.., n)``: the extension
  drops the padding PostgreSQL keeps).

Not mapped (read through Arrow): unconstrained or wider numeric (the extension reads it
as DOUBLE), negative scales, money, domains, arrays, composites, and the types the Arrow
path sends as text.

One gap is closed by a probe: the extension reads a ``numeric`` NaN or infinity as 0.
:meth:`NativeRead.verify` (run before the load commits) asks the server whether the
window holds one, in a thread started with the scan, and refuses the load as the Arrow
path does. It runs outside the scan's snapshot: a NaN written and removed again while
the table is being read can slip past it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from headwater.engines.base import SOURCE_TABLE
from headwater.errors import SourceError
from headwater.sources.postgres.pgtypes import MAX_DECIMAL_PRECISION, ident, literal, numeric_arrow

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


@dataclass(frozen=True)
class Column:
    name: str
    typname: str
    typtype: str  # b base, e enum, d domain, c composite...
    typmod: int
    pg_type: str  # format_type, for messages


def expression(column: Column) -> str | None:
    """The warehouse's select expression for ``column``, or None if it is not exact.

    >>> expression(Column("n", "numeric", "b", ((12 << 16) | 2) + 4, "numeric(12,2)"))
    '"n"'
    >>> expression(Column("n", "numeric", "b", -1, "numeric")) is None
    True
    >>> expression(Column("c", "bpchar", "b", 3 + 4, "character(3)"))
    'rpad("c", 3, \\' \\') AS "c"'
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
    if column.typname == "bpchar" and column.typmod > 4:
        return f"rpad({c}, {column.typmod - 4}, ' ') AS {c}"
    return None


def _exact_decimal(typmod: int) -> bool:
    """numeric(p,s) that DECIMAL(p,s) holds as declared (no negative scale, p <= 38)."""
    if typmod < 4:
        return False
    precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0x7FF
    target = numeric_arrow(typmod)
    return (
        scale < 0x400  # not a negative scale
        and precision <= MAX_DECIMAL_PRECISION
        and getattr(target, "precision", None) == precision
    )


@dataclass
class NativeRead:
    """A plan to read one table natively: ``sql`` reads SOURCE_TABLE; see the module."""

    schema: str
    table: str
    sql: str
    numeric: list[str]  # columns a NaN or infinity probe must check
    probe_sql: str | None = None
    _probe: threading.Thread | None = field(default=None, repr=False)
    _found: list[Any] = field(default_factory=list, repr=False)

    def start_probe(self, rows: Callable[[str], list[tuple[Any, ...]]]) -> None:
        """Ask the server, in a thread, whether the window holds a NaN or infinity."""
        if self.probe_sql is None:
            return
        sql = self.probe_sql

        def probe() -> None:
            try:
                self._found.extend(rows(sql))
            except Exception as exc:  # reported by verify()
                self._found.append(exc)

        self._probe = threading.Thread(target=probe, name="hw-pg-nan-probe", daemon=True)
        self._probe.start()

    def wait(self) -> None:
        if self._probe is not None:
            self._probe.join()

    def verify(self, error: Callable[[BaseException], Exception]) -> None:
        """Raise if the probe found a value the warehouse's reader turned into 0."""
        self.wait()
        for found in self._found:
            if isinstance(found, BaseException):
                raise error(found)
            names = " or ".join(repr(n) for n in self.numeric)
            raise SourceError(
                f"a NaN or infinity in numeric column {names}: DECIMAL has neither "
                "(cast the column to float8 or text in a query)"
            )


def plan(
    columns: list[Column],
    *,
    schema: str,
    table: str,
    qualified: str,
    wanted: list[str] | None,
    cursor: str | None,
    conditions: list[tuple[str, str, str]],
    infinities: bool,
) -> NativeRead | str:
    """The native read of ``qualified``, or why it must go through Arrow.

    ``conditions`` are (column, operator, value) of the cursor window; ``infinities``:
    the server's numeric has infinities (PostgreSQL 14+).
    """
    by_name = {c.name: c for c in columns}
    chosen = [by_name[n] for n in wanted] if wanted else columns
    select = []
    for column in chosen:
        expr = expression(column)
        if expr is None:
            return f"column {column.name!r} ({column.pg_type}) has no exact native reading"
        select.append(expr)
    where = []
    for name, op, value in conditions:
        kind = CURSOR_TYPES.get(by_name[name].typname)
        if kind is None and by_name[name].typname == "numeric":
            kind = f"DECIMAL(38,{(by_name[name].typmod - 4) & 0x7FF})"
        if kind is None or not expression(by_name[name]):
            return f"cursor column {name!r} ({by_name[name].pg_type}) is compared through Arrow"
        where.append(f"{ident(name)} {op} CAST({literal(value)} AS {kind})")
    sql = f"select {', '.join(select)} from {SOURCE_TABLE}"
    if where:
        sql += " where " + " and ".join(where)
    numeric = [c.name for c in chosen if c.typname == "numeric"]
    probe_sql = None
    if numeric:
        # PostgreSQL sorts NaN above +Infinity: two comparisons catch all three values
        # (an IN list costs 1.7x as much server time on TPC-H lineitem's four columns)
        test = "{c} >= 'Infinity' or {c} <= '-Infinity'" if infinities else "{c} = 'NaN'"
        tests = " or ".join(test.format(c=ident(n)) for n in numeric)
        window = "".join(f" and {ident(n)} {op} {literal(v)}" for n, op, v in conditions)
        probe_sql = f"select 1 from {qualified} where ({tests}){window} limit 1"
    return NativeRead(schema, table, sql, numeric, probe_sql)
