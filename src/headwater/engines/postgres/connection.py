"""Connections to the PostgreSQL warehouse and the cursor callers see.

Each thread has its own connection (psycopg's connections serve one thread at a time), in
autocommit mode: a statement outside :meth:`PgCursor.transaction` commits alone, several
inside one commit together. The URL holds the password: it is given to psycopg only, and
an error opening it names the host and database, never the password.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import psycopg

from headwater.engines.postgres.sql import placeholders
from headwater.errors import ConnectionError_

if TYPE_CHECKING:
    import pyarrow as pa


def describe(url: str) -> str:
    """``url`` as it may be shown: host, port and database, no user or password."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    return f"postgresql://{info.get('host', '')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def connect(url: str) -> psycopg.Connection[Any]:
    """A new autocommit connection; :class:`~headwater.errors.ConnectionError_` (one line, no password)."""
    try:
        # prepare_threshold=None: psycopg prepares a statement run 5 times on a connection,
        # and a warehouse replaces tables under it ("cached plan must not change result type")
        return psycopg.connect(url, autocommit=True, prepare_threshold=None)
    except psycopg.Error as exc:
        why = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ConnectionError_(
            f"{describe(url)}: cannot open the warehouse: {why.replace(url, '***')}"
        ) from None


class PgCursor:
    """The :class:`~headwater.engines.protocol.Cursor` of one connection: ``?``
    placeholders, ``execute`` returning the cursor, rows fetched after."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection
        self.raw = connection.cursor()

    def execute(self, sql: str, parameters: object = None, /) -> PgCursor:
        if parameters is None:
            self.raw.execute(sql.encode())  # bytes: no placeholder parsing at all
        else:
            self.raw.execute(placeholders(sql).encode(), cast("Sequence[Any]", parameters))
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.raw.fetchone() if self.raw.description else None

    def fetchall(self) -> list[Any]:
        return self.raw.fetchall() if self.raw.description else []

    @property
    def description(self) -> Sequence[Any] | None:
        return self.raw.description

    @property
    def rowcount(self) -> int:
        return self.raw.rowcount

    def columns(self) -> list[str]:
        return [d.name for d in self.raw.description or []]

    def fetch_arrow(self) -> pa.Table:
        """The rest of the answer as an Arrow table (types inferred from the values)."""
        import pyarrow as pa

        names = self.columns()
        rows = self.raw.fetchall() if self.raw.description else []
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        return pa.table([pa.array(list(col)) for col in columns], names=names)

    @contextmanager
    def transaction(self) -> Iterator[PgCursor]:
        """This cursor inside one transaction (a savepoint when one is open already)."""
        with self.connection.transaction():
            yield self

    def close(self) -> None:
        self.raw.close()
        self.connection.close()
