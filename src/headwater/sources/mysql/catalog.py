"""What a MySQL/MariaDB read is about, asked of the server before any row moves: a table's
or query's columns (from the result metadata of ``LIMIT 0``), the precision of its DECIMAL
columns, and the integer primary key a large table may be split on.

Every function takes ``query``: the connector's metadata query, ``query(sql, args, *,
table=...)`` returning a PyMySQL cursor, which turns the driver's errors into Headwater's
(naming the connection and the table).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from headwater.errors import SourceError
from headwater.sources.mysql.types import BINARY_CHARSET, STRING, Column, column, quote_ident

Query = Callable[..., Any]

PARALLEL_MIN_ROWS = 2_000_000  # estimated rows from which a full read is split in ranges
_INTEGER_KINDS = re.compile(r"^(tinyint|smallint|mediumint|int|bigint)( unsigned)?$")


def strip(query: str) -> str:
    """A custom query without its trailing semicolons, to nest it.

    >>> strip(" select 1; ")
    'select 1'
    """
    return query.strip().rstrip(";").strip()


def source(table: str) -> str:
    """``table`` (``name`` or ``database.name``) quoted for a FROM clause.

    >>> source("shop.order items")
    '`shop`.`order items`'
    """
    if "." in table:
        database, name = table.split(".", 1)
        return f"{quote_ident(database)}.{quote_ident(name)}"
    return quote_ident(table)


def table_ref(table: str, database: str) -> tuple[str, str]:
    """(database, table name) of ``table``, in ``database`` unless it names another."""
    if "." in table:
        found, name = table.split(".", 1)
        return found, name
    return database, table


def columns(
    query: Query, table: str | None, custom: str | None, *, at: str, database: str
) -> list[Column]:
    """The columns of ``table`` or of the ``custom`` query; ``at`` names it in errors."""
    from_ = f"({strip(custom)}) AS _hw_q" if custom else source(table or "")
    cur = query(f"SELECT * FROM {from_} LIMIT 0", table=table)
    fields = cur._result.fields if cur._result is not None else []
    precision = decimal_precision(query, table, database) if table and not custom else {}
    charsets = {f.charsetnr for f in fields if f.type_code == STRING}
    char_bytes = charset_widths(query, charsets - {BINARY_CHARSET}) if charsets else {}
    names = [f.name for f in fields]
    for n in names:
        if names.count(n) > 1:
            raise SourceError(f"{at}: the result has two columns named {n!r}")
    return [
        column(
            f.name,
            f.type_code,
            length=f.length,
            decimals=f.scale,
            flags=f.flags,
            charset=f.charsetnr,
            precision=precision.get(f.name),
            char_bytes=char_bytes.get(f.charsetnr, 4),
        )
        for f in fields
    ]


def decimal_precision(query: Query, table: str, database: str) -> dict[str, int]:
    """The declared precision of each DECIMAL column of ``table`` (the result metadata's
    length is not it)."""
    cur = query(
        "SELECT COLUMN_NAME, NUMERIC_PRECISION FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND DATA_TYPE = 'decimal'",
        list(table_ref(table, database)),
    )
    return {name: int(p) for name, p in cur.fetchall()}


def charset_widths(query: Query, collations: set[int]) -> dict[int, int]:
    """The most bytes a character takes in each of ``collations`` (result metadata's
    character set numbers): a CHAR(n) column's metadata length is n times that."""
    if not collations:
        return {}
    cur = query(
        "SELECT c.ID, s.MAXLEN FROM information_schema.COLLATIONS c JOIN "
        "information_schema.CHARACTER_SETS s ON s.CHARACTER_SET_NAME = c.CHARACTER_SET_NAME "
        f"WHERE c.ID IN ({', '.join(str(int(n)) for n in sorted(collations))})"
    )
    return {int(n): int(width) for n, width in cur.fetchall()}


def pads_char(query: Query) -> bool:
    """Whether the server pads CHAR values to their length (sql_mode PAD_CHAR_TO_FULL_LENGTH;
    the extract's sessions have this one's sql_mode: the server's default)."""
    row = query("SELECT @@SESSION.sql_mode").fetchone()
    return "PAD_CHAR_TO_FULL_LENGTH" in str(row[0] if row else "").upper()


def integer_key(query: Query, table: str, every: list[Column], *, database: str) -> str | None:
    """The integer primary key column worth splitting ``table`` on, if any: its leading key
    column, of an integer type (``every``: the table's columns), for a table estimated at
    :data:`PARALLEL_MIN_ROWS` rows or more."""
    cur = query(
        "SELECT k.COLUMN_NAME, t.TABLE_ROWS FROM information_schema.KEY_COLUMN_USAGE k "
        "JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = k.TABLE_SCHEMA "
        "AND t.TABLE_NAME = k.TABLE_NAME WHERE k.TABLE_SCHEMA = %s AND k.TABLE_NAME = %s "
        "AND k.CONSTRAINT_NAME = 'PRIMARY' ORDER BY k.ORDINAL_POSITION",
        list(table_ref(table, database)),
    )
    rows = cur.fetchall()
    if not rows or int(rows[0][1] or 0) < PARALLEL_MIN_ROWS:
        return None
    key = rows[0][0]  # the leading key column: ranges of it are index range scans
    by_name = {c.name: c for c in every}
    col = by_name.get(key)
    if col is None or not _INTEGER_KINDS.match(col.kind):
        return None
    return str(key)
