"""Several rows of one key in one merge or scd2 load: the latest wins, the others are
counted as superseded (the same rule as DuckDB's, see
:mod:`headwater.engines.duckdb.superseded`). The read order is ``_hw_seq``, the row's
place in the stream (:mod:`.stream`)."""

from __future__ import annotations

from headwater.engines.base import LoadRequest
from headwater.engines.postgres.connection import PgCursor
from headwater.engines.postgres.sql import column_list, ident, same_keys
from headwater.engines.postgres.stream import SEQ


def latest_per_key(cur: PgCursor, req: LoadRequest, rel: str) -> int:
    """Keep the latest row of each key of ``rel``; return how many rows were superseded."""
    keys = column_list(req.primary_key)
    order = f"{SEQ} desc"
    if req.cursor:
        order = f"{ident(req.cursor)} desc nulls last, {order}"
    return cur.execute(
        f"delete from {rel} where {SEQ} in (select {SEQ} from (select {SEQ}, row_number() "
        f"over (partition by {keys} order by {order}) as _hw_n from {rel}) r where _hw_n > 1)"
    ).rowcount


def drop_stale(cur: PgCursor, req: LoadRequest, current: str, rows: str) -> int:
    """Delete from ``rows`` those older, by cursor, than the row of their key in
    ``current``; return how many."""
    c = ident(req.cursor or "")
    return cur.execute(
        f"delete from {rows} n where exists (select 1 from {current} t "
        f"where {same_keys(req.primary_key, 't', 'n')} and t.{c} > n.{c})"
    ).rowcount
