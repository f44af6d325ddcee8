"""The plan of one read: the SELECT an extract sends, its columns, and its key ranges.

:func:`plan_read` is pure: it works from the read and the columns the catalog reported
(:mod:`.catalog`). The connector then runs the SELECT with ``LIMIT 0`` on the server
(grants, expressions), so that a read fails before any extract starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from headwater.errors import SourceError
from headwater.sources.connector import TableRead
from headwater.sources.mysql import catalog
from headwater.sources.mysql.catalog import strip
from headwater.sources.mysql.types import Column, char_expr, literal, quote_ident


@dataclass(frozen=True)
class ReadPlan:
    sql: str
    columns: list[Column]
    partition: tuple[str, int] | None  # (key column, ranges) for a parallel read
    guarded: bool = True  # zero dates are read as NULL (or there is no date column)

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([(c.name, c.arrow) for c in self.columns])


def plan_read(
    what: TableRead,
    every: list[Column],
    *,
    at: str,
    escape: Callable[[str], str],
    integer_key: Callable[[], str | None],
    parallel: int,
    zero_dates: bool = True,
    server_pads: Callable[[], bool] = lambda: False,
) -> ReadPlan:
    """The SELECT of ``what`` over ``every`` column of its table or query; errors name
    ``at``. ``integer_key`` finds the table's integer key (asked only for a full read of a
    table), which splits the read into ``parallel`` ranges. With ``zero_dates``, DATE and
    DATETIME columns are read through their guard (zero dates become NULL). CHAR columns
    follow ``what.char_padding`` (``server_pads``, asked only if there is one: whether the
    server pads them itself; see :func:`char_expr`).

    >>> from headwater.sources.mysql.types import LONG, VARCHAR, column
    >>> cols = [column("id", LONG, length=11, decimals=0, flags=0, charset=63),
    ...         column("v", VARCHAR, length=80, decimals=0, flags=0, charset=45)]
    >>> plan_read(TableRead("t", cursor="id", since="5"), cols, at="t", escape=str,
    ...           integer_key=lambda: "id", parallel=4).sql
    'SELECT `id` AS `id`, `v` AS `v` FROM `t` WHERE `id` >= 5'
    >>> plan_read(TableRead("t"), cols, at="t", escape=str, integer_key=lambda: "id",
    ...           parallel=4).partition
    ('id', 4)
    >>> from headwater.sources.mysql.types import DATE
    >>> day = [column("d", DATE, length=10, decimals=0, flags=0, charset=63)]
    >>> plan_read(TableRead("t"), day, at="t", escape=str, integer_key=lambda: None,
    ...           parallel=1, zero_dates=False).sql
    'SELECT `d` AS `d` FROM `t`'
    >>> plan_read(TableRead("t"), day, at="t", escape=str, integer_key=lambda: None,
    ...           parallel=1).sql
    'SELECT IF(MONTH(`d`) = 0 OR DAYOFMONTH(`d`) = 0, NULL, `d`) AS `d` FROM `t`'
    """
    names = [c.name for c in every]
    chosen = every
    if what.columns:
        lower = {c.name.lower(): c for c in every}
        missing = [n for n in what.columns if n.lower() not in lower]
        if missing:
            raise SourceError(f"{at}: no column {missing[0]!r} (columns: {', '.join(names)})")
        chosen = [lower[n.lower()] for n in what.columns]
    keep = what.char_padding == "keep"
    pads = any(c.chars is not None for c in chosen) and server_pads()
    exprs = [
        c.guarded if zero_dates and c.guarded else char_expr(c, keep=keep, server_pads=pads)
        for c in chosen
    ]
    select = ", ".join(f"{e} AS {quote_ident(c.name)}" for e, c in zip(exprs, chosen, strict=True))
    source = f"({strip(what.query)}) AS _hw_q" if what.query else catalog.source(what.table or "")
    conditions = []
    if what.cursor:
        match = [c for c in every if c.name.lower() == what.cursor.lower()]
        if not match:
            raise SourceError(
                f"{at}: cursor column {what.cursor!r} does not exist (columns: {', '.join(names)})"
            )
        cursor = match[0]
        ref = quote_ident(cursor.name)
        bounds = [(">=" if what.inclusive else ">", what.since), ("<", what.until)]
        for op, value in bounds:
            if value is None:
                continue
            try:
                conditions.append(f"{ref} {op} {literal(cursor, value, escape)}")
            except ValueError as exc:
                raise SourceError(f"{at}: cursor {cursor.name!r}: {exc}") from None
    sql = f"SELECT {select} FROM {source}"
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    partition = None
    if what.table and not what.query and not what.cursor and parallel > 1:
        key = integer_key()
        if key is not None and key in [c.name for c in chosen]:
            partition = (key, parallel)
    guarded = zero_dates or not any(c.guarded for c in chosen)
    return ReadPlan(sql=sql, columns=chosen, partition=partition, guarded=guarded)
