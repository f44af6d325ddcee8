"""Small SQL text helpers for PostgreSQL.

>>> ident('order')
'"order"'
>>> qualified('raw', 'Orders')
'"raw"."Orders"'
>>> placeholders("select '?', x from t where a = ? and b like '%s'")
"select '?', x from t where a = %s and b like '%%s'"
>>> pg_type(__import__("pyarrow").decimal128(12, 2))
'numeric(12,2)'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.engines.quoting import column_list as column_list
from headwater.engines.quoting import ident as ident
from headwater.engines.quoting import qualified as qualified
from headwater.engines.quoting import string as string

if TYPE_CHECKING:
    import pyarrow as pa


def same_keys(keys: list[str], left: str, right: str) -> str:
    """``left`` and ``right`` rows have the same key (NULL-safe, as a key's identity must)."""
    return " and ".join(f"{left}.{ident(k)} is not distinct from {right}.{ident(k)}" for k in keys)


def placeholders(sql: str) -> str:
    """``sql`` with the project's ``?`` placeholders as psycopg's ``%s`` (outside quotes)
    and every ``%`` doubled, as psycopg reads a query that has parameters."""
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if ch == "%":
            out.append("%%")
        elif quote:
            out.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


def fingerprint_query(relation: str, collist: str) -> str:
    """The rows of ``relation`` as a multiset: their count and the exact sum of a 64-bit
    hash of each row's text over ``collist`` (order-free; a duplicate counts twice)."""
    return (
        "select count(*), coalesce(sum(hashtextextended(r::text, 0)::numeric), 0) "
        f"from (select {collist} from {relation} as _hw_rel) r"
    )


def pg_type(arrow_type: pa.DataType) -> str:
    """The PostgreSQL column type holding ``arrow_type``'s values (text for what has no
    closer type: nested values arrive as their JSON text)."""
    import pyarrow as pa

    t = arrow_type
    checks: list[tuple[bool, str]] = [
        (pa.types.is_boolean(t), "boolean"),
        (pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t), "smallint"),
        (pa.types.is_int32(t) or pa.types.is_uint16(t), "integer"),
        (pa.types.is_integer(t) and not pa.types.is_uint64(t), "bigint"),
        (pa.types.is_uint64(t), "numeric(20,0)"),
        (pa.types.is_float16(t) or pa.types.is_float32(t), "real"),
        (pa.types.is_floating(t), "double precision"),
        (pa.types.is_date(t), "date"),
        (pa.types.is_time(t), "time"),
        (pa.types.is_binary(t) or pa.types.is_large_binary(t), "bytea"),
        (pa.types.is_duration(t), "interval"),
    ]
    for ok, name in checks:
        if ok:
            return name
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    if pa.types.is_decimal(t):
        return f"numeric({t.precision},{t.scale})"
    if pa.types.is_null(t):
        return "text"
    return "text"
