"""SQLite connector: Python's sqlite3, streamed to Arrow with types from declared affinity.

Declared type -> Arrow: INT* -> int64; REAL/FLOA/DOUB -> float64; NUMERIC(p,s)/DECIMAL(p,s)
-> decimal128(p,s); BOOL -> bool; BLOB -> binary; anything else -> string. A value that
does not fit its declared type fails the load with table, row id, column and value named.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa

from headwater.errors import ConnectionError_, SourceError
from headwater.sources.connector import ConnectorCapabilities, TableRead
from headwater.sources.interval import sqlite_condition, sqlite_params

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


class SQLiteConnector:
    capabilities = CAPABILITIES

    def __init__(self, url: str, *, root: Path, name: str) -> None:
        # SQLAlchemy's convention: sqlite:///relative/path, sqlite:////absolute/path
        raw = url.split("://", 1)[1] if "://" in url else url
        raw = raw[1:] if raw.startswith("/") else raw
        path = Path(raw) if Path(raw).is_absolute() else root / raw
        self.name = name
        self.path = path
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
    failure: SourceError | None = None

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
        convert = _converter(kind)
        try:
            return pa.array([None if v is None else convert(v) for v in values], type=kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError, InvalidOperation, OverflowError, ValueError):
            pass
        for index, value in enumerate(values):  # find and name the culprit
            try:
                pa.array([None if value is None else convert(value)], type=kind)
            except Exception:
                self.failure = SourceError(
                    f"{self._where(what)}: row {offset + index + 1}, column {field.name!r}: "
                    f"value {value!r} is not a valid {kind}"
                )
                raise self.failure from None
        raise SourceError(f"{self._where(what)}: column {field.name!r} cannot be converted")

    def _where(self, what: TableRead) -> str:
        return f"connection {self.name!r} ({self.path.name}) table {what.table or 'query'!r}"


def _converter(kind: pa.DataType) -> Any:
    if pa.types.is_decimal(kind):
        return lambda v: _decimal(v, kind.scale)
    if pa.types.is_string(kind):
        return lambda v: v if isinstance(v, str) else str(v)
    if pa.types.is_boolean(kind):
        return _boolean
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
