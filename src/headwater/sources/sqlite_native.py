"""Reading a SQLite table with the warehouse's own reader (sqlite_scanner) instead of Arrow.

When the engine reads SQLite itself (capability ``database_scan`` holds ``"sqlite"``), a
table whose every read column maps exactly is read that way: the file's pages go straight
into the warehouse's vectors, with no Python row in between (benchmarks/README.md).

Exact, decided per column from its declared type: the type's SQLite affinity (the rules
of https://www.sqlite.org/datatype3.html, which the extension follows) must give the
warehouse type :func:`headwater.sources.sqlite.arrow_type` gives. That holds for INTEGER
affinity read as BIGINT, REAL as DOUBLE and TEXT (CHAR, CLOB, TEXT) as VARCHAR. Not exact
(read through Arrow): NUMERIC(p,s)/DECIMAL (the extension reads DOUBLE), BOOLEAN (BIGINT),
DATE/DATETIME (it parses them; Headwater keeps the text), other NUMERIC affinity types
(a number there is text for Headwater), BLOB and untyped columns (the extension turns
any value into bytes, Headwater fails an INTEGER there).

A value that does not fit its column's type (SQLite is dynamically typed: a TEXT in an
INTEGER column, a REAL 2.5 there, a BLOB in a TEXT column) fails the extension's scan
("Mismatch Type Error"); the Arrow path fails on the same values. :func:`mismatch_sql`
then finds the first such row in SQLite itself, so the error names its rowid, column and
value as the Arrow path's does.

The extension reads rowid ranges on several connections, each in its own read
transaction: a commit to the file during the scan could give a table no single moment of
the file had. ``PRAGMA data_version`` (read before the scan and again before the load
commits) tells whether another connection committed meanwhile; if one did, the load is
refused (a retry reads it again).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

#: affinity -> (the warehouse type both readers give, SQLite storage classes that fit it)
EXACT = {
    "INTEGER": (pa.int64(), ("integer",)),
    "REAL": (pa.float64(), ("integer", "real")),
    "TEXT": (pa.string(), ("text",)),
}
#: the warehouse type a cursor bound is cast to, per affinity
CURSOR_CASTS = {"INTEGER": "BIGINT", "REAL": "DOUBLE", "TEXT": "VARCHAR"}


def affinity(declared: str) -> str:
    """SQLite's affinity for a declared column type (first rule that matches wins).

    >>> [affinity(t) for t in ("BIGINT", "varchar(20)", "", "double", "numeric(12,2)")]
    ['INTEGER', 'TEXT', 'BLOB', 'REAL', 'NUMERIC']
    """
    upper = (declared or "").upper()
    if "INT" in upper:
        return "INTEGER"
    if any(k in upper for k in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in upper or not upper:
        return "BLOB"
    if any(k in upper for k in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def exact(declared: str, headwater: pa.DataType) -> bool:
    """Whether the extension reads a column declared ``declared`` to the values Headwater's
    mapping (``headwater``, from :func:`~headwater.sources.sqlite.arrow_type`) gives.

    >>> exact("INTEGER", pa.int64()), exact("NUMERIC(12,2)", pa.decimal128(12, 2))
    (True, False)
    """
    found = EXACT.get(affinity(declared))
    return found is not None and found[0] == headwater


def ident(name: str) -> str:
    """A quoted identifier (the same quoting in SQLite and DuckDB)."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A string literal (the same quoting in SQLite and DuckDB)."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class NativeRead:
    """A plan to read one table natively: ``sql`` reads SOURCE_TABLE (see the module)."""

    schema: str  # "main": a SQLite file's only schema
    table: str
    sql: str  # the warehouse's SELECT over SOURCE_TABLE (columns, cursor window)
    affinities: dict[str, str]  # read column -> its affinity (one of EXACT)
    conditions: tuple[str, ...]  # the cursor window as SQLite conditions (literals)
    data_version: int  # PRAGMA data_version when the plan was made
    selective: bool = False  # the extension has no index read to prefer


Bound = tuple[str, str, str]  # (column, operator, value as text)


def window(cursor: str, since: str | None, until: str | None, inclusive: bool) -> list[Bound]:
    """The cursor window's bounds on column ``cursor``.

    >>> window("id", "5", "9", True)
    [('id', '>=', '5'), ('id', '<', '9')]
    """
    found = []
    if since is not None:
        found.append((cursor, ">=" if inclusive else ">", since))
    if until is not None:
        found.append((cursor, "<", until))
    return found


def source_conditions(bounds: list[Bound]) -> list[str]:
    """``bounds`` as SQLite conditions: the column's affinity applies to the text, as it
    does to the Arrow path's bound parameters (a column with INTEGER affinity compares
    '5' as the number 5).

    >>> print(*source_conditions([("at", ">=", "2026-01-03 00:00:00")]))
    "at" >= '2026-01-03 00:00:00'
    """
    return [f"{ident(c)} {op} {literal(v)}" for c, op, v in bounds]


def warehouse_conditions(bounds: list[Bound], kind: str) -> list[str]:
    """``bounds`` as warehouse conditions, the text cast to the column's type ``kind``.

    >>> print(*warehouse_conditions([("id", ">=", "5")], "BIGINT"))
    "id" >= CAST('5' AS BIGINT)
    """
    return [f"{ident(c)} {op} CAST({literal(v)} AS {kind})" for c, op, v in bounds]


def mismatch_sql(table: str, plan: NativeRead) -> str:
    """A SQLite query for the first row (by rowid) of the window holding a value that does
    not fit its column: its rowid, then for each column its value, or NULL where it fits."""
    tests, picks = [], []
    for name, kind in plan.affinities.items():
        fits = ", ".join(literal(t) for t in (*EXACT[kind][1], "null"))
        test = f"typeof({ident(name)}) not in ({fits})"
        tests.append(test)
        picks.append(f"case when {test} then quote({ident(name)}) end")
    where = " or ".join(tests)
    if plan.conditions:
        where = f"({where}) and " + " and ".join(plan.conditions)
    return (
        f"select rowid, {', '.join(picks)} from {ident(table)} where {where} order by rowid limit 1"
    )
