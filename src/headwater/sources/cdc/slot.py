"""A table's logical replication slot: created with an exported snapshot, read through
``pgoutput`` up to the WAL position of the start, and advanced (confirmed flush) only when
the caller says the changes are committed elsewhere.

One slot and one publication (of the same name) per captured table. The replication
protocol is used only to create the slot (for its exported snapshot); the changes are
peeked and the slot advanced through SQL functions. The slot's exported
snapshot is the exact state of the table at the slot's consistent point: the rows read
under it, then the changes streamed from that point, are every change once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from headwater.errors import ConnectionError_, SourceError
from headwater.sources.cdc.pgoutput import (
    Begin,
    Change,
    Commit,
    Relation,
    Truncate,
    decode,
    lsn_text,
)


@dataclass
class Transaction:
    """The changes of one committed source transaction to the captured table."""

    end_lsn: int
    committed_at: Any
    changes: list[Change] = field(default_factory=list)


@dataclass
class Stream:
    """What a bounded read of the slot returned."""

    relation: Relation | None
    transactions: list[Transaction]
    complete: bool  # read up to ``until`` (not stopped by ``max_changes``)


def _psycopg2() -> Any:
    try:
        import psycopg2
        import psycopg2.extras
    except ImportError:  # pragma: no cover - the extra is not installed
        raise SourceError(
            "PostgreSQL change capture needs psycopg2 (pip install 'headwater[cdc]')"
        ) from None
    return psycopg2


def driver_errors() -> type[Exception]:
    """The class of psycopg2's errors (a server's refusal)."""
    error: type[Exception] = _psycopg2().Error
    return error


def reason(exc: BaseException) -> str:
    """The first line of a server's error (it holds no password)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def dsn(url: str) -> str:
    """A libpq URI for ``url`` (``postgresql+driver://`` schemes reduced to ``postgresql://``)."""
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.lower().startswith("postgres") else url


@contextlib.contextmanager
def connect(url: str, *, connection: str, replication: bool) -> Iterator[Any]:
    """A psycopg2 connection (a logical replication one with ``replication``); a failure
    to connect is one line naming the connection (never its password)."""
    pg = _psycopg2()
    factory = pg.extras.LogicalReplicationConnection if replication else None
    try:
        conn = pg.connect(dsn(url), connection_factory=factory, options="-c TimeZone=UTC")
    except pg.OperationalError as exc:
        raise ConnectionError_(
            f"connection {connection!r}: {reason(exc)}", transient=True
        ) from None
    try:
        yield conn
    finally:
        conn.close()


def slot_exists(cur: Any, slot: str) -> bool:
    cur.execute("select 1 from pg_replication_slots where slot_name = %s", [slot])
    return cur.fetchone() is not None


def prepare(cur: Any, slot: str, schema: str, table: str) -> None:
    """(Re)create the publication ``slot`` of the one table, and drop a slot of that name
    left by a first load that never committed (its position is worth nothing)."""
    if slot_exists(cur, slot):
        cur.execute("select pg_drop_replication_slot(%s)", [slot])
    cur.execute(f"drop publication if exists {slot}")
    cur.execute(f"create publication {slot} for table {_ident(schema)}.{_ident(table)}")


def create_slot(rcur: Any, slot: str) -> tuple[int, str]:
    """Create the slot; return its consistent point and the name of its exported snapshot
    (valid while ``rcur``'s connection stays open and idle)."""
    rcur.execute(f"CREATE_REPLICATION_SLOT {slot} LOGICAL pgoutput EXPORT_SNAPSHOT")
    _name, point, snapshot, _plugin = rcur.fetchone()
    high, _, low = point.partition("/")
    return (int(high, 16) << 32) + int(low, 16), snapshot


def read_changes(
    cur: Any,
    slot: str,
    *,
    start: int,
    until: int,
    table: tuple[str, str],
    max_changes: int | None,
) -> Stream:
    """The committed transactions of ``table`` after ``start`` (the LSN the warehouse
    holds) up to the WAL position ``until`` (taken when the run started), or about
    ``max_changes`` changes (whole transactions), peeked: the slot does not move.

    Read through ``pg_logical_slot_peek_binary_changes`` on a plain connection, not the
    streaming protocol: psycopg2's stream confirms, by itself, the server's position
    from its keepalives once the messages read were confirmed, which could move the slot
    past changes still buffered unread. Transactions at or before ``start`` (the slot is
    behind after a crash between the warehouse commit and :func:`confirm`) are skipped."""
    cur.execute(
        "select data from pg_logical_slot_peek_binary_changes(%s, %s::pg_lsn, %s, "
        "'proto_version', '1', 'publication_names', %s)",
        [slot, lsn_text(until), max_changes, slot],
    )
    relation: Relation | None = None
    done: list[Transaction] = []
    current: Transaction | None = None
    messages = 0
    while rows := cur.fetchmany(10_000):
        messages += len(rows)
        for (data,) in rows:
            item = decode(bytes(data))
            if isinstance(item, Begin):
                current = Transaction(0, item.committed_at)
            elif isinstance(item, Relation):
                if (item.schema, item.name) == table:
                    relation = item
            elif isinstance(item, Change) and current is not None:
                current.changes.append(item)
            elif (
                isinstance(item, Truncate)
                and relation is not None
                and relation.relid in item.relids
            ):
                raise SourceError(
                    f"slot {slot}: {table[0]}.{table[1]} was truncated: reload it with "
                    "`headwater run --full-refresh`"
                )
            elif isinstance(item, Commit) and current is not None:
                current.end_lsn = item.end_lsn
                if item.end_lsn > start and current.changes:
                    done.append(current)
                current = None
    return Stream(relation, done, max_changes is None or messages < max_changes)


def confirm(cur: Any, slot: str, lsn: int) -> None:
    """Tell the server the changes up to ``lsn`` are safe in the warehouse: the slot's
    confirmed flush position advances (never backwards) and the server may recycle the
    WAL before it."""
    cur.execute(
        "select pg_replication_slot_advance(%s, %s::pg_lsn) from pg_replication_slots "
        "where slot_name = %s and confirmed_flush_lsn < %s::pg_lsn",
        [slot, lsn_text(lsn), slot, lsn_text(lsn)],
    )
    cur.fetchall()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
