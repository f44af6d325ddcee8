"""SQLite connector: Python's sqlite3, streamed to Arrow with types from declared affinity.

Declared type -> Arrow: INT* -> int64; REAL/FLOA/DOUB -> float64; NUMERIC(p,s)/DECIMAL(p,s)
-> decimal128(p,s); BOOL -> bool; BLOB -> binary; anything else -> string. A value that
does not fit its declared type fails the load with table, row id, column and value named.

Where the warehouse reads SQLite itself and every read column maps exactly, the table is
read natively (:mod:`headwater.sources.sqlite_native`); otherwise through Arrow, built
column by column from ``fetchmany``'s rows.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa

from headwater.engines.base import SOURCE_TABLE
from headwater.errors import ConnectionError_, SourceError
from headwater.sources import sqlite_native
from headwater.sources.connector import ConnectorCapabilities, TableRead
from headwater.sources.interval import sqlite_condition, sqlite_params
from headwater.sources.sqlite_native import NativeRead

CAPABILITIES = ConnectorCapabilities(
    name="sqlite",
    incremental_cursor=True,
    custom_query=True,
    list_tables=True,
    parallel_ranges=False,
)
_DECIMAL = re.compile(r"(?:NUMERIC|DECIMAL)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)", re.I)


def arrow_type(declared: str) -> pa.DataType:
    """Arrow type for a SQLite declared column type.

    >>> arrow_type("NUMERIC(12,2)")
    Decimal128Type(decimal128(12, 2))
    >>> arrow_type("varchar(20)")
    DataType(string)
    """
    upper = (declared or "").upper()
    match = _DECIMAL.search(upper)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2) or 0))
    if "INT" in upper:
        return pa.int64()
    if any(k in upper for k in ("REAL", "FLOA", "DOUB")):
        return pa.float64()
    if "BOOL" in upper:
        return pa.bool_()
    if "BLOB" in upper:
        return pa.binary()
    return pa.string()


@dataclass(frozen=True)
class FileAddress:
    """Where the warehouse's own reader finds the file (``DatabaseScan.uri``)."""

    uri: str


class SQLiteConnector:
    capabilities = CAPABILITIES

    def __init__(self, url: str, *, root: Path, name: str) -> None:
        # SQLAlchemy's convention: sqlite:///relative/path, sqlite:////absolute/path
        raw = url.split("://", 1)[1] if "://" in url else url
        raw = raw[1:] if raw.startswith("/") else raw
        path = Path(raw) if Path(raw).is_absolute() else root / raw
        self.name = name
        self.path = path
        self.address = FileAddress(str(path.resolve()))
        self._native: tuple[NativeRead, TableRead] | None = None  # the native read under way
        if not path.is_file():
            raise ConnectionError_(f"connection {name!r}: SQLite file {path} does not exist")
        try:
            self._con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        except sqlite3.Error as exc:
            raise ConnectionError_(f"connection {name!r}: cannot open {path}: {exc}") from None

    def close(self) -> None:
        self._con.close()

    # An error raised while the engine pulls batches reaches us wrapped in the engine's own
    # exception; the step re-raises this one, which names the row and column.
    _failure: SourceError | None = None

    @property
    def failure(self) -> SourceError | None:
        """The failure of the last read, naming table, row id, column and value. After a
        native read failed (the warehouse words it its own way, or not at all), SQLite is
        asked for the first value that does not fit its column."""
        if self._failure is None and self._native is not None:
            plan, what = self._native
            self._failure = self._mismatch(plan, what)
        return self._failure

    def native_read(self, what: TableRead) -> NativeRead | str:
        """The warehouse's own reading of ``what``, or why it must go through Arrow (a
        query, a view, a column that does not map exactly; see :mod:`.sqlite_native`)."""
        if what.query or what.table is None:
            return "a query is read through Arrow"
        row = self._con.execute(
            "select type, sql from sqlite_master where name = ?", [what.table]
        ).fetchone()
        if row is None or row[0] != "table" or "WITHOUT ROWID" in (row[1] or "").upper():
            return f"{what.table!r} is not a rowid table"
        info = self._con.execute(f"pragma table_info({sqlite_native.ident(what.table)})")
        declared = {r[1]: r[2] or "" for r in info.fetchall()}
        names = what.columns or list(declared)
        affinities = {}
        for name in names:
            if name not in declared:
                raise SourceError(f"{self._where(what)}: no column {name!r}")
            if not sqlite_native.exact(declared[name], arrow_type(declared[name])):
                return (
                    f"column {name!r} ({declared[name] or 'no type'}) has no exact native reading"
                )
            affinities[name] = sqlite_native.affinity(declared[name])
        return self._native_plan(what, declared, affinities, row[1] or "")

    def _native_plan(
        self, what: TableRead, declared: dict[str, str], affinities: dict[str, str], ddl: str
    ) -> NativeRead | str:
        assert what.table is not None
        sql = f"select {', '.join(map(sqlite_native.ident, affinities))} from {SOURCE_TABLE}"
        conditions: list[str] = []
        if what.cursor:
            if what.cursor not in declared:
                raise SourceError(
                    f"{self._where(what)}: cursor column {what.cursor!r} does not exist "
                    f"(columns: {', '.join(declared)})"
                )
            bounds = sqlite_native.window(what.cursor, what.since, what.until, what.inclusive)
            kind = sqlite_native.CURSOR_CASTS.get(sqlite_native.affinity(declared[what.cursor]))
            if bounds and (kind is None or "COLLATE" in ddl.upper()):
                return f"cursor column {what.cursor!r} is compared through Arrow"
            if bounds and kind is not None:
                sql += " where " + " and ".join(sqlite_native.warehouse_conditions(bounds, kind))
                conditions = sqlite_native.source_conditions(bounds)
        plan = NativeRead(
            "main", what.table, sql, affinities, tuple(conditions), self._data_version()
        )
        self._native, self._failure = (plan, what), None
        return plan

    def native_verify(self, plan: NativeRead, what: TableRead, cur: Any, table: str) -> None:
        """Refuse the load if another connection committed to the file while the warehouse
        read it: its connections could each have seen a different moment of the file."""
        if self._data_version() != plan.data_version:
            raise SourceError(
                f"{self._where(what)}: the file changed while the warehouse read it; "
                "nothing of this load is kept (run it again)",
                transient=True,
            )

    def native_error(self, what: TableRead, exc: BaseException) -> Exception:
        """The warehouse's failure to read the file, as the connector's error."""
        found = self.failure
        if found is not None:
            return found
        return SourceError(f"{self._where(what)}: {str(exc).splitlines()[0]}")

    def _mismatch(self, plan: NativeRead, what: TableRead) -> SourceError | None:
        """The first value of the window that does not fit its column, named (None: all fit)."""
        try:
            row = self._con.execute(sqlite_native.mismatch_sql(plan.table, plan)).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        for (name, kind), value in zip(plan.affinities.items(), row[1:], strict=True):
            if value is not None:
                expected = sqlite_native.EXACT[kind][0]
                return SourceError(
                    f"{self._where(what)}: rowid {row[0]}, column {name!r}: value {value} "
                    f"is not a valid {expected}"
                )
        return None

    def _data_version(self) -> int:
        row = self._con.execute("pragma data_version").fetchone()
        return int(row[0]) if row else 0

    def tables(self) -> list[str]:
        rows = self._con.execute(
            "select name from sqlite_master where type in ('table','view') "
            "and name not like 'sqlite_%' order by name"
        ).fetchall()
        return [r[0] for r in rows]

    def schema(self, table: str) -> pa.Schema:
        info = self._con.execute(f'pragma table_info("{table}")').fetchall()
        if not info:
            raise SourceError(
                f"connection {self.name!r}: table {table!r} does not exist in {self.path.name}"
            )
        return pa.schema([(row[1], arrow_type(row[2])) for row in info])

    def read(self, what: TableRead) -> pa.RecordBatchReader:
        # every parameter is named: a query's :interval_start/:interval_end, the windows'
        params: dict[str, Any] = {}
        if what.query:
            sql, params = f"select * from ({what.query})", sqlite_params(what.interval)
            try:
                cur = self._con.execute(sql + " limit 0", params)
            except sqlite3.Error as exc:
                raise SourceError(f"{self._where(what)}: {exc}") from None
            schema = pa.schema([(d[0], pa.string()) for d in cur.description])
        else:
            assert what.table is not None
            schema = self.schema(what.table)
            sql = f'select * from "{what.table}"'
        self._native, self._failure = None, None  # this read goes through Arrow
        if what.columns:
            missing = [c for c in what.columns if c not in schema.names]
            if missing:
                raise SourceError(f"{self._where(what)}: no column {missing[0]!r}")
            schema = pa.schema([schema.field(c) for c in what.columns])
        if what.interval_column and what.interval is not None:
            if what.interval_column not in schema.names:
                raise SourceError(
                    f"{self._where(what)}: interval column {what.interval_column!r} does not "
                    f"exist (columns: {', '.join(schema.names)})"
                )
            sql = f"select * from ({sql}) where {sqlite_condition(what.interval_column)}"
            params.update(sqlite_params(what.interval))
        if what.cursor:
            if what.cursor not in schema.names:
                raise SourceError(
                    f"{self._where(what)}: cursor column {what.cursor!r} does not exist "
                    f"(columns: {', '.join(schema.names)})"
                )
            if what.since is not None:
                op = ">=" if what.inclusive else ">"
                sql = f'select * from ({sql}) where "{what.cursor}" {op} :hw_since'
                params["hw_since"] = what.since
            if what.until is not None:
                sql = f'select * from ({sql}) where "{what.cursor}" < :hw_until'
                params["hw_until"] = what.until
            sql += f' order by "{what.cursor}"'
        cols = ", ".join(f'"{c}"' for c in schema.names)
        sql = f"select {cols} from ({sql})"
        try:
            cursor = self._con.execute(sql, params)
        except sqlite3.Error as exc:
            raise SourceError(f"{self._where(what)}: {exc}") from None
        return pa.RecordBatchReader.from_batches(schema, self._batches(cursor, schema, what))

    def _batches(
        self, cursor: sqlite3.Cursor, schema: pa.Schema, what: TableRead
    ) -> Iterator[pa.RecordBatch]:
        offset = 0
        while True:
            rows = cursor.fetchmany(what.batch_size)
            if not rows:
                return
            columns = list(zip(*rows, strict=True))
            arrays = [
                self._array(columns[i], field, what, offset) for i, field in enumerate(schema)
            ]
            offset += len(rows)
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    def _array(
        self, values: tuple[Any, ...], field: pa.Field, what: TableRead, offset: int
    ) -> pa.Array:
        kind = field.type
        # a table's TEXT column holds no bytes (a BLOB there does not fit, as natively);
        # a query's columns are text whatever they hold
        convert = _converter(kind, blobs=what.query is not None)
        try:
            if kind == pa.float64():  # sqlite3's int and float: no per-value call
                return pa.array(values, type=kind)
            if kind == pa.int64():  # Arrow would truncate a REAL 2.5 to 2: infer, then check
                inferred = pa.array(values)
                if inferred.type in (pa.int64(), pa.null()):
                    return inferred.cast(kind)
            return pa.array([None if v is None else convert(v) for v in values], type=kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError, InvalidOperation, OverflowError, ValueError):
            pass
        for index, value in enumerate(values):  # find and name the culprit
            try:
                pa.array([None if value is None else convert(value)], type=kind)
            except Exception:
                rowid = self._rowid(what, field.name, value)
                self._failure = SourceError(
                    f"{self._where(what)}: row {offset + index + 1}{rowid}, column "
                    f"{field.name!r}: value {value!r} is not a valid {kind}"
                )
                raise self._failure from None
        raise SourceError(f"{self._where(what)}: column {field.name!r} cannot be converted")

    def _rowid(self, what: TableRead, column: str, value: Any) -> str:
        """`` (rowid N)`` of the first row of the table holding ``value`` in ``column``
        ("" for a query, a view or a table without rowid)."""
        if what.table is None or what.query:
            return ""
        sql = (
            f"select rowid from {sqlite_native.ident(what.table)} "
            f"where {sqlite_native.ident(column)} is ? order by rowid limit 1"
        )
        try:
            row = self._con.execute(sql, [value]).fetchone()
        except sqlite3.Error:
            return ""
        return f" (rowid {row[0]})" if row else ""

    def _where(self, what: TableRead) -> str:
        return f"connection {self.name!r} ({self.path.name}) table {what.table or 'query'!r}"


def _converter(kind: pa.DataType, *, blobs: bool = True) -> Any:
    if pa.types.is_decimal(kind):
        return lambda v: _decimal(v, kind.scale)
    if pa.types.is_string(kind):
        return lambda v: v if isinstance(v, str) else _text(v, blobs)
    if pa.types.is_boolean(kind):
        return _boolean
    if kind == pa.int64():
        return _integer
    return lambda v: v


_BOOLEANS = {
    0: False,
    1: True,
    "0": False,
    "1": True,
    "true": True,
    "false": False,
    "t": True,
    "f": False,
}


def _text(value: Any, blobs: bool) -> str:
    if isinstance(value, bytes) and not blobs:
        raise ValueError("a BLOB is not text")
    return str(value)


def _integer(value: Any) -> int:
    if type(value) is not int:  # a REAL in an INTEGER column: Arrow would truncate it
        raise ValueError(f"{value!r} is not an integer")
    return value


def _boolean(value: Any) -> bool:
    key = value.lower() if isinstance(value, str) else value
    if key not in _BOOLEANS:
        raise ValueError(f"{value!r} is not a boolean")
    return _BOOLEANS[key]


def _decimal(value: Any, scale: int) -> Decimal:
    """Exact decimal at ``scale``; raises when that would round the value."""
    exact = Decimal(str(value))
    scaled = exact.quantize(Decimal(1).scaleb(-scale))
    if scaled != exact:
        raise InvalidOperation(f"{value!r} has more than {scale} decimals")
    return scaled
