"""Small SQL text helpers for DuckDB.

>>> ident('order')
'"order"'
>>> qualified('raw', 'Orders')
'"raw"."Orders"'
>>> string("it's")
"'it''s'"
>>> same_keys(["id", "day"], "t", "n")
't."id" is not distinct from n."id" and t."day" is not distinct from n."day"'
>>> fingerprint_query("t", '"id", "v"')
'select count(*), coalesce(sum(hash("id", "v")::hugeint), 0) from t'
"""

from __future__ import annotations

from headwater.engines.quoting import column_list as column_list
from headwater.engines.quoting import ident as ident
from headwater.engines.quoting import qualified as qualified
from headwater.engines.quoting import string as string


def same_keys(keys: list[str], left: str, right: str) -> str:
    """``left`` and ``right`` rows have the same key (NULL-safe: a NULL key part matches a
    NULL, as a key's identity must)."""
    return " and ".join(f"{left}.{ident(k)} is not distinct from {right}.{ident(k)}" for k in keys)


def fingerprint_query(relation: str, collist: str) -> str:
    """A query for the rows of ``relation`` as a multiset: their count and the exact sum of
    their 64-bit hashes over ``collist``. Order-free; a duplicate counts twice; DuckDB's hash
    of several columns depends on their order, so values that trade columns change it. Equal
    fingerprints mean the same rows unless a changed row's hash collides (about 1 in 2^64).
    """
    return f"select count(*), coalesce(sum(hash({collist})::hugeint), 0) from {relation}"
