"""PostgreSQL values in their text form, as typed Arrow columns (by the column's type OID).

The snapshot reads every column as ``::text`` and the change stream sends text, so both
go through the same conversion and land with the same types. Types without a mapping here
(arrays, ranges, geometry, unconstrained numeric...) keep their text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pyarrow as pa

from headwater.errors import SourceError

_INT = {20: pa.int64(), 21: pa.int16(), 23: pa.int32(), 26: pa.int64()}
_FLOAT = {700: pa.float32(), 701: pa.float64()}
_TEXT = {25, 1043, 18, 19, 2950, 114, 3802}  # text, varchar, char, name, uuid, json, jsonb


def _bool(v: str) -> bool:
    return v == "t"


def _bytea(v: str) -> bytes:
    return bytes.fromhex(v[2:]) if v.startswith("\\x") else v.encode()


def _numeric_type(mod: int) -> pa.DataType | None:
    """NUMERIC(p, s) as decimal128(p, s); unconstrained NUMERIC: None (kept as text)."""
    if mod < 4:
        return None
    precision, scale = ((mod - 4) >> 16) & 0xFFFF, (mod - 4) & 0xFFFF
    return pa.decimal128(precision, scale) if precision <= 38 else None


def arrow_type(oid: int, mod: int) -> pa.DataType:
    """The Arrow type a column of type ``oid`` (type modifier ``mod``) lands as."""
    if oid in _INT:
        return _INT[oid]
    if oid in _FLOAT:
        return _FLOAT[oid]
    if oid == 1700:
        return _numeric_type(mod) or pa.string()
    known: dict[int, pa.DataType] = {
        16: pa.bool_(),
        17: pa.binary(),
        1082: pa.date32(),
        1083: pa.time64("us"),
        1114: pa.timestamp("us"),
        1184: pa.timestamp("us", tz="UTC"),
    }
    return known.get(oid, pa.string())


def _parser(oid: int, mod: int) -> Callable[[str], Any]:
    if oid in _INT:
        return int
    if oid in _FLOAT:
        return float  # 'NaN', 'Infinity' included
    if oid == 1700:
        return Decimal if _numeric_type(mod) is not None else str
    if oid == 1042:  # char(n): trailing blanks dropped, as PostgreSQL compares them
        return str.rstrip
    parsers: dict[int, Callable[[str], Any]] = {
        16: _bool,
        17: _bytea,
        1082: date.fromisoformat,
        1083: time.fromisoformat,
        1114: datetime.fromisoformat,
        1184: datetime.fromisoformat,
    }
    return parsers.get(oid, str)


def column(values: Sequence[str | None], oid: int, mod: int, *, where: str, name: str) -> pa.Array:
    """One column's text values as an Arrow array; a value that does not parse (a date
    of 'infinity') fails with ``where`` and the column named."""
    parse = _parser(oid, mod)
    typed: list[Any] = []
    try:
        for value in values:
            typed.append(None if value is None else parse(value))
        return pa.array(typed, arrow_type(oid, mod))
    except (ValueError, ArithmeticError, pa.ArrowException) as exc:
        bad = values[len(typed)] if len(typed) < len(values) else "?"
        raise SourceError(f"{where}: column {name!r}: value {bad!r} does not fit: {exc}") from None
