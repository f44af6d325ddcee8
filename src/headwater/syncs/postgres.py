"""Writing a sync's changes into PostgreSQL: binary COPY (ADBC) into temporary tables, then
one ``INSERT ... ON CONFLICT (key) DO UPDATE`` and one ``DELETE ... USING``, all in one
transaction: a failure anywhere leaves the target as it was.

Values are cast to the target's own column types (``format_type``) in the INSERT, so a
model's BIGINT fills an ``integer`` column and its text a ``date`` one, as PostgreSQL's
explicit casts allow; a value that does not fit fails the sync naming the connection.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pyarrow as pa

from headwater.errors import ConnectionError_, HeadwaterError
from headwater.sources.postgres.errors import Address, connect_error, read_error
from headwater.sources.postgres.pgtypes import ident, literal
from headwater.syncs.target import Applied, split_table

_UP = "_hw_sync_upserts"
_GONE = "_hw_sync_deletes"


class PostgresTarget:
    """One session on the target database, its transaction open until :meth:`apply` ends."""

    def __init__(self, url: str, *, name: str, table: str) -> None:
        self.address = Address.parse(url, name)
        self.table = table
        self.what = f"sync into {table}"
        try:
            import adbc_driver_postgresql.dbapi as dbapi
        except ImportError:  # pragma: no cover - the postgres extra is not installed
            raise ConnectionError_(
                f"connection {name!r}: syncs to PostgreSQL need the ADBC driver: "
                "pip install 'headwater[postgres]'"
            ) from None
        try:
            self._conn: Any = dbapi.connect(self.address.uri)
            with self._conn.cursor() as cur:
                cur.execute("SET TimeZone TO 'UTC'")
        except Exception as exc:
            self.close()
            raise connect_error(self.address, exc) from None

    def column_types(self) -> dict[str, str]:
        """The target table's columns and their types; SourceError when it has none (no
        such table, or not visible to the role)."""
        schema, table = split_table(self.table, "public")
        sql = (
            "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
            "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
            f"where n.nspname = {literal(schema)} and c.relname = {literal(table)} "
            "and a.attnum > 0 and not a.attisdropped order by a.attnum"
        )
        rows = self._fetch(sql)
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
        """Upsert the rows of ``upserts`` (the sync's ``columns``) and delete the keys of
        ``removed`` (None: nothing to delete); commit. Rolled back whole if anything fails."""
        schema, table = split_table(self.table, "public")
        target = f"{ident(schema)}.{ident(table)}"
        try:
            with self._conn.cursor() as cur:
                sent = cur.adbc_ingest(_UP, upserts, mode="create", temporary=True)
                cols = ", ".join(ident(c) for c in columns)
                cast = ", ".join(f"{ident(c)}::{types[c]}" for c in columns)
                keys = ", ".join(ident(k) for k in key)
                rest = [c for c in columns if c not in key]
                action = "nothing"
                if rest:
                    action = "update set " + ", ".join(
                        f"{ident(c)} = excluded.{ident(c)}" for c in rest
                    )
                    # only rows whose values differ are rewritten (no dead tuple otherwise)
                    old = ", ".join(f"{target}.{ident(c)}" for c in rest)
                    new = ", ".join(f"excluded.{ident(c)}" for c in rest)
                    action += f" where ({old}) is distinct from ({new})"
                cur.execute(
                    f"insert into {target} ({cols}) select {cast} from {_UP} "
                    f"on conflict ({keys}) do {action}"
                )
                deleted = 0
                if removed is not None:
                    gone = cur.adbc_ingest(_GONE, removed, mode="create", temporary=True)
                    if gone:
                        on = " and ".join(f"t.{ident(k)} = d.{ident(k)}::{types[k]}" for k in key)
                        cur.execute(f"delete from {target} t using {_GONE} d where {on}")
                        deleted = max(0, cur.rowcount)
                    cur.execute(f"drop table {_GONE}")
                cur.execute(f"drop table {_UP}")
            self._conn.commit()
        except HeadwaterError:
            self._rollback()
            raise
        except Exception as exc:
            self._rollback()
            raise read_error(self.address, self.what, exc) from None
        return Applied(sent=int(sent), deleted=deleted)

    def close(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _rollback(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.rollback()

    def _fetch(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            with self._conn.cursor() as cur:
                cur.execute(sql)
                rows: list[tuple[Any, ...]] = cur.fetchall()
            self._conn.rollback()  # a read: end its transaction
            return rows
        except Exception as exc:
            self._rollback()
            raise read_error(self.address, self.what, exc) from None
