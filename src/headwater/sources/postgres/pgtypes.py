"""PostgreSQL column types -> the Arrow types Headwater loads (see docs/types.md).

The driver (ADBC, binary COPY) decodes most types itself. For each column we decide a
select expression (what the server sends) and a client-side fix (what we do to each batch):

- ``numeric(p,s)`` is sent as text and cast to ``decimal128`` exactly (the driver's own
  numeric decoding is slow and yields strings); unconstrained ``numeric`` (and p > 38)
  stays text: any fixed Arrow decimal would round or overflow some values.
- ``money`` -> ``decimal128(19,2)`` (sent as ``money::numeric::text``).
- ``oid`` -> int64 (unsigned 32-bit: int32 would wrap).
- ``char(n)`` loses its trailing blanks (as PostgreSQL compares it; what its ``::text``
  drops) on the client, unless the source keeps them (``char_padding = "keep"``): on the
  server ``::text`` cost about 0.5 CPU us a value, Arrow's rtrim 0.025 us.
- Types the driver only knows as opaque bytes (ranges, inet, timetz, xml, bit, geometric,
  extension types...) are sent as their text form.
- Arrays are one-dimensional lists; a multidimensional value fails the load naming the column.
- ``date``/``timestamp``/``timestamptz`` ``infinity`` become DuckDB's infinities (the driver
  wraps them around); values beyond what Arrow can hold (after year 294246) fail.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from headwater.errors import SourceError

# ADBC shifts PostgreSQL's 2000-01-01 epoch to 1970 with wrapping arithmetic, so the
# infinities arrive as these values.
_PG_EPOCH_DAYS = 10_957
_PG_EPOCH_US = 946_684_800_000_000
_I32, _I64 = 2**31, 2**63


def _wrap(value: int, bits: int) -> int:
    half = 2 ** (bits - 1)
    return (value + half) % (2 * half) - half


DATE_POS_INF = _wrap(_I32 - 1 + _PG_EPOCH_DAYS, 32)
DATE_NEG_INF = _wrap(-_I32 + _PG_EPOCH_DAYS, 32)
TS_POS_INF = _wrap(_I64 - 1 + _PG_EPOCH_US, 64)
TS_NEG_INF = _wrap(-_I64 + _PG_EPOCH_US, 64)
# PostgreSQL's earliest values (4713 BC): anything below is a wrapped value.
DATE_MIN = -2_440_588
TS_MIN = -210_866_803_200_000_000
# DuckDB's infinities
DUCK_DATE_INF, DUCK_TS_INF = _I32 - 1, _I64 - 1

MAX_DECIMAL_PRECISION = 38
MAX_SCALED_PRECISION = 18  # numeric(p,s) with p <= 18 travels as its unscaled int8

Fix = Callable[[pa.Array], pa.Array]


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A SQL string literal (the session has standard_conforming_strings on)."""
    if "\x00" in value:
        raise ValueError("a NUL character cannot be sent to PostgreSQL")
    return "'" + value.replace("'", "''") + "'"


def numeric_typmod(typmod: int) -> tuple[int, int] | None:
    """(precision, scale) declared by a ``numeric`` type modifier; None: unconstrained.

    >>> numeric_typmod(((12 << 16) | 2) + 4), numeric_typmod(((3 << 16) | (-2 & 0x7FF)) + 4)
    ((12, 2), (3, -2))
    """
    if typmod < 4:
        return None
    bits = typmod - 4
    precision, scale = (bits >> 16) & 0xFFFF, bits & 0x7FF
    if scale & 0x400:  # 11-bit signed scale (PostgreSQL 15 allows negative scales)
        scale -= 0x800
    return precision, scale


def numeric_arrow(typmod: int) -> pa.DataType:
    """Arrow type for ``numeric`` with type modifier ``typmod`` (-1: unconstrained).

    >>> numeric_arrow(-1)
    DataType(string)
    >>> numeric_arrow(((12 << 16) | 2) + 4)
    Decimal128Type(decimal128(12, 2))
    >>> numeric_arrow(((3 << 16) | (-2 & 0x7FF)) + 4)  # numeric(3,-2): up to 99900
    Decimal128Type(decimal128(5, 0))
    """
    declared = numeric_typmod(typmod)
    if declared is None:
        return pa.string()
    precision, scale = declared
    if scale < 0:
        precision, scale = precision - scale, 0
    precision = max(precision, scale)
    if precision > MAX_DECIMAL_PRECISION or precision < 1:
        return pa.string()
    return pa.decimal128(precision, scale)


@dataclass(frozen=True)
class ColumnPlan:
    """How one column is selected on the server and fixed up on the client."""

    name: str
    expr: str  # select-list expression, aliased to the column's name
    arrow: pa.DataType  # the type Headwater loads
    pg_type: str  # the PostgreSQL type, for messages
    fix: Fix | None = None  # per-batch conversion of what the driver delivers

    @property
    def field(self) -> pa.Field:
        return pa.field(self.name, self.arrow)


def _typname(field: pa.Field) -> str:
    meta = field.metadata or {}
    return (meta.get(b"POSTGRESQL:type") or b"").decode()


def _typmod(field: pa.Field) -> int:
    meta = field.metadata or {}
    raw = meta.get(b"POSTGRESQL:typmod")
    return int(raw) if raw else -1


def _opaque(kind: pa.DataType) -> bool:
    """Whether ``kind`` contains a type the driver could only deliver as opaque bytes."""
    if getattr(kind, "extension_name", None) == "arrow.opaque":
        return True
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _opaque(kind.value_type)
    if pa.types.is_struct(kind):
        return any(_opaque(kind.field(i).type) for i in range(kind.num_fields))
    return False


def plan_column(
    driver: pa.Field,
    *,
    source: str,
    pg_type: str | None = None,
    typmod: int | None = None,
    trim_char: bool = True,
) -> ColumnPlan:
    """Decide how to read column ``driver`` (the driver's description of it).

    ``source`` is the SQL the column comes from (``"q".``-qualified name); ``pg_type``
    and ``typmod`` come from the catalog when the column belongs to a table.
    ``trim_char``: ``char(n)`` values (and arrays of them) lose their trailing blanks.
    """
    name, kind, typname = driver.name, driver.type, _typname(driver)
    pg = pg_type or typname or str(kind)
    alias = ident(name)
    mod = typmod if typmod is not None else _typmod(driver)
    if trim_char and typname == "bpchar":
        return ColumnPlan(name, f"{source} as {alias}", pa.string(), pg, _trim_blanks())
    if trim_char and typname == "_bpchar":  # rare: the server's ::text of each element
        expr = _one_dimensional(f"{source}::text[]", source, name)
        return ColumnPlan(name, f"{expr} as {alias}", pa.list_(pa.string()), pg)
    if typname == "numeric":
        target = numeric_arrow(mod)
        if pa.types.is_decimal(target) and target.precision <= MAX_SCALED_PRECISION:
            # cheapest exact path: the unscaled integer as int8, viewed as decimal128
            expr = f"({source} * 1e{target.scale}::numeric)::int8 as {alias}"
            return ColumnPlan(name, expr, target, pg, _scaled_fix(target))
        fix = _decimal_fix(name, target) if pa.types.is_decimal(target) else None
        return ColumnPlan(name, f"{source}::text as {alias}", target, pg, fix)
    if typname == "_numeric":
        element = numeric_arrow(mod)
        target = pa.list_(element)
        fix = _decimal_fix(name, target) if pa.types.is_decimal(element) else None
        expr = _one_dimensional(f"{source}::text[]", source, name)
        return ColumnPlan(name, f"{expr} as {alias}", target, pg, fix)
    if typname == "money":
        target = pa.decimal128(19, 2)
        fix = _decimal_fix(name, target)
        return ColumnPlan(name, f"{source}::numeric::text as {alias}", target, pg, fix)
    if typname == "oid":
        return ColumnPlan(name, f"{source}::int8 as {alias}", pa.int64(), pg)
    if _opaque(kind):
        if pa.types.is_list(kind):
            expr = _one_dimensional(f"{source}::text[]", source, name)
            return ColumnPlan(name, f"{expr} as {alias}", pa.list_(pa.string()), pg)
        # the type's output function (``::text`` differs for some: inet shows its mask)
        expr = f"case when {source} is null then null else format('%s', {source}) end"
        return ColumnPlan(name, f"{expr} as {alias}", pa.string(), pg)
    if pa.types.is_list(kind):
        expr = _one_dimensional(source, source, name)
        kind = plain(kind)
        return ColumnPlan(name, f"{expr} as {alias}", kind, pg, _infinity_fix(name, kind))
    kind = plain(kind)
    return ColumnPlan(name, f"{source} as {alias}", kind, pg, _infinity_fix(name, kind))


MULTIDIM_MARK = "headwater-multidimensional:"


def _one_dimensional(expr: str, source: str, name: str) -> str:
    """``expr`` unless the array has several dimensions: then an error naming the column.

    (The error is a failed cast of a text that depends on the row, so the planner cannot
    fold it away; :func:`multidimensional_column` reads the column back out of it.)
    """
    mark = literal(f"{MULTIDIM_MARK}{name}:")
    ndims = f"array_ndims({source})"
    raise_ = f"case when ({mark} || {ndims})::int = 0 then {expr} end"
    return f"case when {ndims} > 1 then {raise_} else {expr} end"


_MULTIDIM_ERROR = re.compile('"' + re.escape(MULTIDIM_MARK) + r'(.*?):(\d+)"')


def multidimensional_column(message: str) -> tuple[str, str] | None:
    """(column, dimensions) when ``message`` is our multidimensional-array error."""
    found = _MULTIDIM_ERROR.search(message.split("\nQuery was:", 1)[0])
    return (found.group(1), found.group(2)) if found else None


def plain(kind: pa.DataType) -> pa.DataType:
    """``kind`` without the driver's metadata on nested fields."""
    if pa.types.is_list(kind):
        return pa.list_(plain(kind.value_type))
    if pa.types.is_struct(kind):
        return pa.struct([pa.field(f.name, plain(f.type)) for f in kind])
    return kind


def _decimal_fix(name: str, target: pa.DataType) -> Fix:
    def fix(array: pa.Array) -> pa.Array:
        try:
            return array.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            bad = _first_bad(array, target)
            raise SourceError(
                f"column {name!r}: value {bad!r} does not fit {_duck(target)}"
                + (" (NaN has no DECIMAL form)" if bad and "nan" in str(bad).lower() else "")
            ) from None

    return fix


def _scaled_fix(target: pa.DataType) -> Fix:
    wide = pa.decimal128(MAX_DECIMAL_PRECISION, 0)

    def fix(array: pa.Array) -> pa.Array:
        # same 16-byte layout: the unscaled integer reinterpreted at the column's scale
        return array.cast(wide).view(target)

    return fix


def _first_bad(array: pa.Array, target: pa.DataType) -> object:
    values = array.flatten() if pa.types.is_list(array.type) else array
    element = target.value_type if pa.types.is_list(target) else target
    for value in values.to_pylist():
        if value is None:
            continue
        try:
            pa.array([value]).cast(element)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return value
    return None


def _duck(kind: pa.DataType) -> str:
    if pa.types.is_decimal(kind):
        return f"DECIMAL({kind.precision},{kind.scale})"
    if pa.types.is_list(kind):
        return _duck(kind.value_type) + "[]"
    return str(kind)


def _trim_blanks() -> Fix:
    """Drop the trailing blanks (U+0020 only) of ``char(n)`` values: exactly what
    PostgreSQL's comparisons and its cast to text ignore."""
    import pyarrow.compute as pc  # see _fix_wrapped

    def fix(array: pa.Array) -> pa.Array:
        return pc.utf8_rtrim(array, characters=" ")

    return fix


def _infinity_fix(name: str, kind: pa.DataType) -> Fix | None:
    if pa.types.is_list(kind):
        inner = _infinity_fix(name, kind.value_type)
        if inner is None:
            return None

        def fix_list(array: pa.Array) -> pa.Array:
            values = array.values
            fixed = inner(values)
            if fixed is values:
                return array
            return type(array).from_arrays(array.offsets, fixed, mask=array.is_null())

        return fix_list
    if pa.types.is_date32(kind):
        return _fix_wrapped(name, pa.int32(), DATE_MIN, DATE_POS_INF, DATE_NEG_INF, DUCK_DATE_INF)
    if pa.types.is_timestamp(kind) and kind.unit == "us":
        return _fix_wrapped(name, pa.int64(), TS_MIN, TS_POS_INF, TS_NEG_INF, DUCK_TS_INF)
    return None


def _fix_wrapped(
    name: str, storage: pa.DataType, minimum: int, pos_inf: int, neg_inf: int, duck_inf: int
) -> Fix:
    # imported here: a native read (the warehouse reads the rows) never needs it, and it
    # costs 60-100 ms of every run's start-up
    import pyarrow.compute as pc

    low = pa.scalar(minimum, storage)

    def fix(array: pa.Array) -> pa.Array:
        raw = array.view(storage)
        if not pc.any(pc.less(raw, low)).as_py():
            return array
        fixed = pc.if_else(
            pc.equal(raw, pa.scalar(pos_inf, storage)),
            pa.scalar(duck_inf, storage),
            pc.if_else(
                pc.equal(raw, pa.scalar(neg_inf, storage)), pa.scalar(-duck_inf, storage), raw
            ),
        )
        if pc.any(pc.and_(pc.less(fixed, low), pc.not_equal(fixed, -duck_inf))).as_py():
            raise SourceError(
                f"column {name!r}: a value is beyond the range DuckDB can hold "
                "(after year 294246); cast it in a query"
            )
        return fixed.view(array.type)

    return fix


def convert(batch: pa.RecordBatch, plans: list[ColumnPlan], schema: pa.Schema) -> pa.RecordBatch:
    """The driver's batch -> Headwater's: fixes applied, driver metadata dropped."""
    arrays = []
    for plan, column in zip(plans, batch.columns, strict=True):
        if plan.fix is not None:
            column = plan.fix(column)
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
