"""A table's logical replication slot: created with an exported snapshot, streamed through
``pgoutput`` up to the WAL position of the start, and advanced (confirmed flush) only when
the caller says the changes are committed elsewhere.

One slot and one publication (of the same name) per captured table. The slot's exported
snapshot is the exact state of the table at the slot's consistent point: the rows read
under it, then the changes streamed from that point, are every change once.
"""

from __future__ import annotations

import contextlib
import logging
import select
import time
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


def _psycopg2() -> Any:
    try:
        import psycopg2
        import psycopg2.extras
    except ImportError:  # pragma: no cover - the extra is not installed
        raise SourceError(
            "PostgreSQL change capture needs psycopg2 (pip install 'headwater[cdc]')"
        ) from None
    return psycopg2


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
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "cannot connect"
        raise ConnectionError_(f"connection {connection!r}: {reason}", transient=True) from None
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
    rcur: Any,
    slot: str,
    *,
    start: int,
    until: int,
    table: tuple[str, str],
    max_changes: int | None,
    idle_timeout: float,
    log: logging.Logger,
) -> Stream:
    """The committed transactions of ``table`` after ``start`` (the LSN the warehouse
    holds) up to the WAL position ``until`` (taken when the run started), or about
    ``max_changes`` changes (whole transactions). Nothing is confirmed to the server."""
    rcur.start_replication(
        slot_name=slot,
        decode=False,
        start_lsn=start,
        options={"proto_version": "1", "publication_names": slot},
    )
    relation: Relation | None = None
    done: list[Transaction] = []
    current: Transaction | None = None
    count = 0
    idle_since = time.monotonic()
    while True:
        message = rcur.read_message()
        if message is None:
            if current is None and rcur.wal_end >= until:
                break  # the server has decoded every WAL record up to the start's position
            if time.monotonic() - idle_since > idle_timeout:
                log.warning(
                    "slot %s: no message for %.0f s; loading what was read", slot, idle_timeout
                )
                break
            rcur.send_feedback(reply=True)  # asks the server for its position now
            select.select([rcur], [], [], 0.2)
            continue
        idle_since = time.monotonic()
        item = decode(message.payload)
        if isinstance(item, Begin):
            current = Transaction(0, item.committed_at)
        elif isinstance(item, Relation):
            if (item.schema, item.name) == table:
                relation = item
        elif isinstance(item, Change) and current is not None:
            current.changes.append(item)
        elif isinstance(item, Truncate) and relation is not None and relation.relid in item.relids:
            raise SourceError(
                f"slot {slot}: {table[0]}.{table[1]} was truncated (at {lsn_text(message.data_start)}); "
                "reload it with `headwater run --full-refresh`"
            )
        elif isinstance(item, Commit) and current is not None:
            current.end_lsn = item.end_lsn
            if item.end_lsn > start and current.changes:
                done.append(current)  # (a replayed transaction, at or before start, is not)
                count += len(current.changes)
            current = None
            if item.end_lsn >= until or (max_changes is not None and count >= max_changes):
                break
    return Stream(relation, done)


def confirm(rcur: Any, lsn: int, log: logging.Logger) -> None:
    """Tell the server the changes up to ``lsn`` are safe elsewhere: the slot's confirmed
    flush position advances and the server may recycle the WAL before it."""
    rcur.send_feedback(flush_lsn=lsn, write_lsn=lsn, reply=True)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:  # the server answers once it has read it
        if rcur.read_message() is None and rcur.wal_end >= lsn:
            return
        select.select([rcur], [], [], 0.1)
    log.debug("no answer to the slot's confirmation (the next run confirms again)")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
