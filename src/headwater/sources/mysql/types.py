"""MySQL/MariaDB column types -> Arrow: the SELECT expression, the target type, the fix-up.

Each result column of a read is described by a :class:`Column`, built from the server's own
result metadata (type code, flags, length, decimals, charset of ``SELECT ... LIMIT 0``) and,
for tables, refined by ``information_schema`` (exact DECIMAL precision). The column is read
through an expression that the Arrow reader (connectorx) decodes exactly, and the Arrow
array it yields is cast to the final type (``Column.fix``):

- zero dates (``'0000-00-00'``, ``'2024-00-10'``) become NULL on the server, for a table
  known to hold them (:data:`ZERO_DATES`); other tables are read without that guard;
- TIMESTAMP travels as microseconds since the epoch (``UNIX_TIMESTAMP``, independent of the
  session time zone) and becomes a UTC instant;
- TIME travels as microseconds and must lie in [00:00, 24:00) (TIME also holds durations up
  to +-838 hours, which a time of day cannot: such a value fails the load, named);
- DECIMAL wider than 28 digits or with more than 10 decimals travels as text and is parsed
  exactly by Arrow; wider than 38 digits stays text (DuckDB's DECIMAL stops at 38);
- CHAR(n) arrives without its trailing blanks, as MySQL returns it, or padded to n
  (:func:`char_expr`).

``docs/types-mysql.md`` is the table users read; keep the two in step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation

import pyarrow as pa
import pyarrow.compute as pc

# protocol type codes (include/mysql_com.h enum_field_types) and column flags
DECIMAL, TINY, SHORT, LONG, FLOAT, DOUBLE, NULL, TIMESTAMP, LONGLONG, INT24 = range(10)
DATE, TIME, DATETIME, YEAR, NEWDATE, VARCHAR, BIT = range(10, 17)
JSON, NEWDECIMAL, ENUM, SET, GEOMETRY = 245, 246, 247, 248, 255
STRING = 254  # CHAR, BINARY; ENUM and SET too, told apart by their flags
UNSIGNED_FLAG, ENUM_FLAG, SET_FLAG = 32, 256, 2048
BINARY_CHARSET = 63
MICROS_PER_DAY = 86_400_000_000

Fix = Callable[[pa.Array], pa.Array]


@dataclass(frozen=True)
class Column:
    """One column of a read: how it is selected, its Arrow type, how to compare a cursor."""

    name: str
    kind: str  # the MySQL type, as docs/types-mysql.md names it
    arrow: pa.DataType
    expr: str  # SELECT expression, aliased to the column name by the caller
    fix: Fix | None = None  # connectorx array -> final array (besides a plain cast)
    comparable: str = "number"  # how a cursor value is written: number|date|datetime|...
    # DATE, DATETIME: the expression that reads a zero date as NULL, where connectorx
    # refuses one read through ``expr`` (it costs the server; see ZERO_DATES)
    guarded: str | None = None
    chars: int | None = None  # CHAR(n): n


def quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def column(
    name: str,
    type_code: int,
    *,
    length: int,
    decimals: int,
    flags: int,
    charset: int,
    precision: int | None = None,
    char_bytes: int = 4,
) -> Column:
    """The :class:`Column` for one field of a result set's metadata. ``char_bytes``: the
    most bytes a character of ``charset`` takes (the metadata's length is in bytes)."""
    c = quote_ident(name)
    unsigned = bool(flags & UNSIGNED_FLAG)
    u = " unsigned" if unsigned else ""
    ints = {
        TINY: ("tinyint", pa.int8(), pa.uint8()),
        SHORT: ("smallint", pa.int16(), pa.uint16()),
        INT24: ("mediumint", pa.int32(), pa.uint32()),
        LONG: ("int", pa.int32(), pa.uint32()),
        LONGLONG: ("bigint", pa.int64(), pa.uint64()),
    }
    if type_code == TINY and length == 1:  # tinyint(1) = BOOLEAN
        return Column(name, "tinyint(1)" + u, pa.bool_(), c)
    if type_code in ints:
        kind, signed_type, unsigned_type = ints[type_code]
        return Column(name, kind + u, unsigned_type if unsigned else signed_type, c)
    if type_code == YEAR:
        return Column(name, "year", pa.int16(), f"NULLIF({c}, 0)")
    if type_code == BIT:
        if length == 1:
            return Column(name, "bit(1)", pa.bool_(), f"CAST({c} AS UNSIGNED)")
        return Column(name, f"bit({length})", pa.uint64(), f"CAST({c} AS UNSIGNED)")
    if type_code == FLOAT:
        return Column(name, "float", pa.float32(), c)
    if type_code == DOUBLE:
        return Column(name, "double", pa.float64(), c)
    if type_code in (DECIMAL, NEWDECIMAL):
        return _decimal(name, c, length=length, decimals=decimals, unsigned=unsigned, p=precision)
    if type_code in (DATE, NEWDATE):
        return Column(name, "date", pa.date32(), c, comparable="date", guarded=_no_zero_date(c))
    if type_code == DATETIME:
        return Column(
            name, "datetime", pa.timestamp("us"), c, comparable="datetime", guarded=_no_zero_date(c)
        )
    if type_code == TIMESTAMP:
        return Column(
            name,
            "timestamp",
            pa.timestamp("us", tz="UTC"),
            # internal UTC value, whatever the session's time zone; 0 = the zero timestamp
            f"NULLIF(CAST(UNIX_TIMESTAMP({c}) * 1000000 AS SIGNED), 0)",
            comparable="timestamp",
        )
    if type_code == TIME:
        return Column(
            name,
            "time",
            pa.time64("us"),
            f"CAST(TIME_TO_SEC({c}) * 1000000 AS SIGNED)",
            fix=_time_of_day,
            comparable="time",
        )
    if type_code == GEOMETRY:
        return Column(name, "geometry", pa.large_binary(), f"ST_AsBinary({c})", comparable="none")
    if type_code == NULL:
        return Column(name, "null", pa.string(), f"CAST({c} AS CHAR)", comparable="none")
    if type_code == JSON:
        return Column(name, "json", pa.string(), c, comparable="string")
    if charset == BINARY_CHARSET and type_code not in (ENUM, SET):
        return Column(name, "binary", pa.large_binary(), c, comparable="none")
    if type_code == STRING and not flags & (ENUM_FLAG | SET_FLAG):
        chars = length // max(char_bytes, 1)
        return Column(name, f"char({chars})", pa.string(), c, comparable="string", chars=chars)
    if type_code in (VARCHAR, ENUM, SET, 249, 250, 251, 252, 253, 254):
        return Column(name, "string", pa.string(), c, comparable="string")
    # anything newer than this module (VECTOR, ...): its text form, never a wrong value
    return Column(name, f"type {type_code}", pa.string(), f"CAST({c} AS CHAR)", comparable="none")


#: The read hint (:attr:`TableRead.hints`) of a table whose DATE or DATETIME columns hold
#: zero dates. Without it, those columns are read as they are: the guard costs the server
#: about 0.5 CPU s per 1M rows of three date columns, 8% of a load of TPC-H lineitem
#: (benchmarks/README.md), and connectorx refuses a zero date loudly, never silently.
ZERO_DATES = "zero_dates"
_REFUSED_DATE = re.compile(r"Couldn't convert the value `Date\(")


def refused_zero_date(message: str) -> bool:
    """Whether connectorx stopped at a date it cannot decode (a zero date: ``'0000-00-00'``,
    ``'2024-00-10'``, ``'2024-05-00 01:02:03'``).

    >>> refused_zero_date("Could not retrieve `Option<NaiveDate>`: Couldn't convert the "
    ...                   "value `Date(\"'2024-00-10'\")` to a desired type")
    True
    >>> refused_zero_date("Lost connection to server during query")
    False
    """
    return _REFUSED_DATE.search(message) is not None


def char_expr(col: Column, *, keep: bool, server_pads: bool) -> str:
    """The SELECT expression of ``col``: a CHAR(n) column padded to n (``keep``) or
    without its trailing blanks, whichever the server returns (``server_pads``: the
    session's sql_mode has PAD_CHAR_TO_FULL_LENGTH, a MariaDB mode MySQL deprecated).

    >>> char = column("c", STRING, length=40, decimals=0, flags=0, charset=45)
    >>> char_expr(char, keep=True, server_pads=False), char_expr(char, keep=False, server_pads=True)
    ("RPAD(`c`, 10, ' ')", 'RTRIM(`c`)')
    >>> char_expr(char, keep=False, server_pads=False)
    '`c`'
    """
    if col.chars is None or keep == server_pads:
        return col.expr
    return f"RPAD({col.expr}, {col.chars}, ' ')" if keep else f"RTRIM({col.expr})"


def _no_zero_date(c: str) -> str:
    return f"IF(MONTH({c}) = 0 OR DAYOFMONTH({c}) = 0, NULL, {c})"


def _decimal(
    name: str, c: str, *, length: int, decimals: int, unsigned: bool, p: int | None
) -> Column:
    scale = decimals
    if p is None:  # display length = digits + point + sign
        p = length - (1 if scale > 0 else 0) - (0 if unsigned else 1)
        p = max(p, scale, 1)
    kind = f"decimal({p},{scale})"
    if p > 38:
        return Column(name, kind, pa.string(), f"CAST({c} AS CHAR)")
    target = pa.decimal128(p, scale)
    if p <= 28 and scale <= 10:
        # connectorx decodes DECIMAL as decimal128(38,10) exactly up to 28 digits
        return Column(name, kind, target, c)
    return Column(name, kind, target, f"CAST({c} AS CHAR)")


def _time_of_day(values: pa.Array) -> pa.Array:
    micros = values.cast(pa.int64())
    bad = pc.or_(pc.less(micros, 0), pc.greater_equal(micros, MICROS_PER_DAY))
    if pc.any(bad).as_py():
        index = pc.index(bad, True).as_py()
        raise ValueError(index, f"{_duration_text(micros[index].as_py())} is not a time of day")
    return micros.cast(pa.time64("us"))


def _duration_text(micros: int) -> str:
    sign = "-" if micros < 0 else ""
    seconds, frac = divmod(abs(micros), 1_000_000)
    text = f"{sign}{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return text + (f".{frac:06d}" if frac else "")


def convert(col: Column, values: pa.Array) -> pa.Array:
    """The final array of ``col``. Raises ValueError((row index | None), reason)."""
    if col.fix is not None:
        values = col.fix(values)
    if values.type == col.arrow:
        return values
    try:
        return values.cast(col.arrow)  # safe: overflow and lost decimals raise
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(None, str(exc)) from None


# --- cursor values -----------------------------------------------------------------------


def literal(col: Column, value: str, escape: Callable[[str], str]) -> str:
    """SQL for the cursor value ``value`` (the stored mark or ``initial_value``), typed as
    ``col`` so the server compares values, not text. Raises ValueError when it does not fit.

    The mark is DuckDB's text of the column's maximum: ``123``, ``12.50``, ``true``,
    ``2026-01-02``, ``2026-01-02 10:00:00.5``, ``2026-01-02 10:00:00+00``.
    """
    how = col.comparable
    text = value.strip()
    if how == "number":
        if pa.types.is_boolean(col.arrow):
            flag = {"true": 1, "false": 0, "1": 1, "0": 0}.get(text.lower())
            if flag is None:
                raise ValueError(f"{value!r} is not a boolean")
            return str(flag)
        if pa.types.is_integer(col.arrow):
            return str(int(text))
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        return str(number)
    if how == "date":
        return f"CAST('{_datetime(text).date().isoformat()}' AS DATE)"
    if how == "datetime":
        moment = _datetime(text)
        if moment.tzinfo is not None:  # DATETIME has no zone: compare in UTC
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return f"CAST('{moment.isoformat(sep=' ')}' AS DATETIME(6))"
    if how == "timestamp":
        moment = _datetime(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        utc = moment.astimezone(UTC).replace(tzinfo=None)
        # the session's time zone is UTC (see the connector), so this is that instant
        return f"CAST('{utc.isoformat(sep=' ')}' AS DATETIME(6))"
    if how == "time":
        try:
            parsed = time.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a time of day") from None
        return f"CAST('{parsed.isoformat()}' AS TIME(6))"
    if how == "string":
        return escape(value)
    raise ValueError(f"a {col.kind} column cannot be an incremental cursor")


def _datetime(text: str) -> datetime:
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time())
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date/time (expected ISO 8601)") from None
