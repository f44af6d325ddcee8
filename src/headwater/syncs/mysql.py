"""Writing a sync's changes into MySQL/MariaDB: rows into temporary tables (multi-row
INSERTs of up to ``max_allowed_packet``, PyMySQL's ``executemany``), then one
``INSERT ... SELECT ... ON DUPLICATE KEY UPDATE`` and one ``DELETE ... JOIN``, all in one
InnoDB transaction (temporary tables commit nothing): a failure leaves the target as it was.

The session is the MySQL source's own (URL parameters, TLS, errors naming the connection
without its password: :class:`headwater.sources.mysql.MySQLConnector`), in UTC; instants
are sent as UTC wall-clock values, as the source reads them back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from headwater.errors import HeadwaterError
from headwater.syncs.target import Applied, split_table

_UP = "_hw_sync_upserts"
_GONE = "_hw_sync_deletes"


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class MySQLTarget:
    """One session on the target database (its transaction open while :meth:`apply` runs)."""

    def __init__(self, url: str, *, name: str, table: str) -> None:
        from headwater.sources.mysql import MySQLConnector

        self._source = MySQLConnector(url, name=name)
        self._con: Any = self._source._con  # the connector's PyMySQL session
        self.schema, self.name = split_table(table, self._source.database)
        self.table = table

    def column_types(self) -> dict[str, str]:
        """The target table's columns and their types (empty: no such table)."""
        rows = self._run(
            "select column_name, column_type from information_schema.columns "
            "where table_schema = %s and table_name = %s order by ordinal_position",
            (self.schema, self.name),
        ).fetchall()
        return {str(name): str(kind) for name, kind in rows}

    def apply(
        self,
        upserts: pa.RecordBatchReader,
        removed: pa.RecordBatchReader | None,
        *,
        key: list[str],
        columns: list[str],
        types: dict[str, str],
    ) -> Applied:
        """Upsert ``upserts``' rows and delete ``removed``'s keys in one transaction."""
        target = f"{_q(self.schema)}.{_q(self.name)}"
        cols = ", ".join(_q(c) for c in columns)
        self._con.autocommit(False)
        try:
            self._con.begin()
            self._run(f"create temporary table {_UP} select {cols} from {target} limit 0")
            sent = self._fill(_UP, columns, upserts)
            rest = [c for c in columns if c not in key] or key[:1]
            update = ", ".join(f"{_q(c)} = values({_q(c)})" for c in rest)
            self._run(
                f"insert into {target} ({cols}) select {cols} from {_UP} "
                f"on duplicate key update {update}"
            )
            deleted = 0
            if removed is not None:
                keys = ", ".join(_q(k) for k in key)
                self._run(f"create temporary table {_GONE} select {keys} from {target} limit 0")
                if self._fill(_GONE, key, removed):
                    on = " and ".join(f"t.{_q(k)} = d.{_q(k)}" for k in key)
                    deleted = self._run(f"delete t from {target} t join {_GONE} d on {on}").rowcount
                self._run(f"drop temporary table {_GONE}")
            self._run(f"drop temporary table {_UP}")
            self._con.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                self._con.rollback()
            raise
        finally:
            with contextlib.suppress(Exception):
                self._con.autocommit(True)
        return Applied(sent=sent, deleted=max(0, int(deleted)))

    def close(self) -> None:
        self._source.close()

    def _fill(self, table: str, columns: list[str], rows: pa.RecordBatchReader) -> int:
        """Insert every batch of ``rows`` into temporary ``table``; how many rows."""
        marks = ", ".join(["%s"] * len(columns))
        sql = f"insert into {table} ({', '.join(_q(c) for c in columns)}) values ({marks})"
        n = 0
        for batch in rows:
            values = list(_tuples(batch.select(columns)))
            if values:
                self._run(sql, values, many=True)
                n += len(values)
        return n

    def _run(self, sql: str, args: Any = None, *, many: bool = False) -> Any:
        import pymysql

        cur = self._con.cursor()
        try:
            if many:
                cur.executemany(sql, args)
            else:
                cur.execute(sql, args)
        except pymysql.err.MySQLError as exc:
            error: HeadwaterError = self._source._error(exc, table=self.table)
            raise error from None
        return cur


def _tuples(batch: pa.RecordBatch) -> Iterator[tuple[Any, ...]]:
    """The rows of ``batch`` as tuples of Python values PyMySQL can send: instants as
    UTC wall-clock datetimes (MySQL's DATETIME has no zone; the session is in UTC)."""
    arrays = []
    for array in batch.columns:
        if pa.types.is_timestamp(array.type) and array.type.tz is not None:
            array = pc.cast(array, pa.timestamp(array.type.unit))
        arrays.append(array.to_pylist())
    return zip(*arrays, strict=True)
