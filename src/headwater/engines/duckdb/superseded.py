"""Several rows of one key in one merge or scd2 load: which one wins, and the count of the
others.

The latest wins, as if each row had come in a load of its own: latest by the cursor column
when there is one (NULL oldest), and among equal cursors, or without a cursor, the row read
last. Files are read in sorted path order (a ``day=`` folder after the one before it), each
from top to bottom; an Arrow stream in its batches' order; a database table in the order
its read returns (by cursor, when there is one). So one load of two files gives the table
that two loads of them, in turn, would.

Every row that loses, to a later row of its load (:func:`latest_per_key`) or, by cursor, to
the newer row the table already holds (:func:`drop_stale`), is counted as superseded
(``LoadResult.rows_superseded``, ``_headwater.loads.rows_superseded``); a row repeated
verbatim is one of them. Superseded rows are not recorded in ``_headwater.rejected_rows``:
that table holds rows whose values never reached the warehouse, and a superseded row's key
is there, in a later version.
"""

from __future__ import annotations

import duckdb

from headwater.engines.base import LoadRequest
from headwater.engines.duckdb.sql import column_list, ident, same_keys


def latest_per_key(
    cur: duckdb.DuckDBPyConnection, req: LoadRequest, rel: str, *, temp: bool
) -> int:
    """Keep the latest row of each key of ``rel`` (the staged rows); return how many rows
    were superseded. (Rewrites ``rel`` only when some key repeats: the common first load
    pays one aggregate, not a copy.)"""
    keys = column_list(req.primary_key)
    row = cur.execute(
        f"select sum(n - 1) from (select count(*) as n from {rel} group by {keys} having n > 1)"
    ).fetchone()
    superseded = int(row[0]) if row and row[0] is not None else 0
    if not superseded:
        return 0
    # rowid is the read order: staging keeps the scan's order (preserve_insertion_order,
    # on for every load but a database scan's, whose source table has no order to keep)
    order = "rowid desc"
    if req.cursor:
        order = f"{ident(req.cursor)} desc nulls last, {order}"
    cur.execute(
        f"create or replace {'temp ' if temp else ''}table {rel} as select * from {rel} "
        f"qualify row_number() over (partition by {keys} order by {order}) = 1"
    )
    return superseded


def drop_stale(cur: duckdb.DuckDBPyConnection, req: LoadRequest, current: str, rows: str) -> int:
    """Delete from ``rows`` (new or changed rows) those older, by cursor, than the row of
    their key in ``current`` (the table's current rows), which they never overwrite;
    return how many."""
    c = ident(req.cursor or "")
    row = cur.execute(
        f"delete from {rows} n where exists (select 1 from {current} t "
        f"where {same_keys(req.primary_key, 't', 'n')} and t.{c} > n.{c})"
    ).fetchone()
    return int(row[0]) if row else 0
