"""Load a change-capture source: a table's inserts, updates and deletes, exactly once.

The first load (or a full refresh) creates the table's slot with an exported snapshot and
loads the rows of that snapshot; later loads stream the slot's changes from the LSN the
warehouse holds up to the WAL position seen at the start. The LSN reached is the asset's
state, committed in the load's transaction with the rows; only after that commit is the
slot told (its confirmed flush position advances). A crash before the commit replays the
same changes next time; a crash after it replays what the warehouse already has, which
the server skips (the load asks to start at the warehouse's LSN) and the load ignores.

Rows carry ``_cdc_lsn`` (the commit's end LSN, the order of changes: the load's cursor),
``_cdc_op`` (snapshot, insert, update or delete) and ``_cdc_committed_at``. With ``merge``
and ``scd2`` the changes of a key collapse to the last; deletes remove the row (merge),
close its version (scd2) and, with ``deletes = "soft"``, set ``_hw_deleted_at`` instead
of removing it. ``append`` keeps every change as a row (deletes: the key only).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from headwater.config.secrets import interpolate_url
from headwater.config.settings import ProjectSettings
from headwater.config.streams import CdcSettings
from headwater.engines.base import Engine, LoadRequest, LoadResult
from headwater.errors import SourceError
from headwater.sources.cdc import slot as slots
from headwater.sources.cdc.changes import (
    ChangeTable,
    apply_deletes,
    restore_unchanged,
    save_unchanged,
)
from headwater.sources.cdc.pgoutput import lsn_int, lsn_text

LSN = "lsn"  # state: the LSN the warehouse has every change up to (text, "16/B374D848")


def load_cdc(
    asset: str,
    base: LoadRequest,
    *,
    engine: Engine,
    settings: ProjectSettings,
    connection: str,
    table: str,
    cdc: CdcSettings,
    several: bool,
    state: dict[str, Any],
    log: logging.Logger,
) -> LoadResult:
    """Load the snapshot (first load) or the next changes of ``table``. A refusal of the
    server (no logical wal_level, no privilege, the slot in use) is one line naming the
    connection and the slot."""
    try:
        return _load_cdc(asset, base, engine=engine, settings=settings, connection=connection,
                         table=table, cdc=cdc, several=several, state=state, log=log)  # fmt: skip
    except slots.driver_errors() as exc:
        slot = f"{cdc.slot}_{table.rpartition('.')[2]}" if several else cdc.slot
        raise SourceError(f"connection {connection!r} slot {slot}: {slots.reason(exc)}") from None


def _load_cdc(
    asset: str,
    base: LoadRequest,
    *,
    engine: Engine,
    settings: ProjectSettings,
    connection: str,
    table: str,
    cdc: CdcSettings,
    several: bool,
    state: dict[str, Any],
    log: logging.Logger,
) -> LoadResult:
    if base.write == "replace":
        raise SourceError(f"{asset}: a cdc source writes merge, scd2 or append, not replace")
    url = interpolate_url(settings.connections[connection].url, where=f"connection {connection!r}")
    schema, _, name = table.rpartition(".")
    schema = schema or "public"
    slot = f"{cdc.slot}_{name}" if several else cdc.slot
    where = f"connection {connection!r} slot {slot}"
    request = replace(base, cursor="_cdc_lsn")
    with slots.connect(url, connection=connection, replication=False) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            types = _column_types(cur, schema, name, where)
            if LSN not in state:
                return _first_load(asset, request, engine, conn, url, connection, slot,
                                   (schema, name), types, cdc, state, log)  # fmt: skip
            if not slots.slot_exists(cur, slot):
                raise SourceError(
                    f"{where}: the slot is gone (dropped on the server?): reload with "
                    "`headwater run --full-refresh`"
                )
            cur.execute("select pg_current_wal_lsn()::text")
            until = lsn_int(cur.fetchone()[0])
            start = lsn_int(state[LSN])
            log.info("reading slot %s from %s up to %s", slot, state[LSN], lsn_text(until))
            stream = slots.read_changes(
                cur, slot, start=start, until=until, table=(schema, name),
                max_changes=cdc.max_changes,
            )  # fmt: skip
            if not stream.transactions:
                log.info("no new change")
                # nothing of this table up to ``until``: the slot need not hold that WAL
                slots.confirm(cur, slot, until if stream.complete else start)
                return LoadResult(rows_read=0, rows_written=0, rows_rejected=0, cursor_max=None)
            reached = stream.transactions[-1].end_lsn
            columns = tuple(types)
            if stream.relation is not None:  # the columns as the changes were decoded
                rel = stream.relation
                columns = rel.columns
                types = {
                    c: (o, m)
                    for c, o, m in zip(rel.columns, rel.type_oids, rel.type_mods, strict=True)
                }
            changes = ChangeTable(columns, types, where=where, key=base.primary_key)
            for txn in stream.transactions:
                for change in txn.changes:
                    changes.add(change, txn.end_lsn, txn.committed_at)
            log.info("%d changes in %d transactions, up to %s", changes.count,
                     len(stream.transactions), lsn_text(reached))  # fmt: skip
            state = {**state, LSN: lsn_text(reached)}
            result = _load(asset, request, engine, changes, cdc, state)
            slots.confirm(cur, slot, reached)  # only now: the warehouse has them
            return result


def _first_load(
    asset: str,
    request: LoadRequest,
    engine: Engine,
    conn: Any,
    url: str,
    connection: str,
    slot: str,
    table: tuple[str, str],
    types: dict[str, tuple[int, int]],
    cdc: CdcSettings,
    state: dict[str, Any],
    log: logging.Logger,
) -> LoadResult:
    """Create the slot and load the table as of its consistent point (its exported
    snapshot), with that point as the state: the changes after it come next."""
    with conn.cursor() as cur:
        slots.prepare(cur, slot, *table)
    where = f"connection {connection!r} slot {slot}"
    with slots.connect(url, connection=connection, replication=True) as rconn:
        point, snapshot = slots.create_slot(rconn.cursor(), slot)
        log.info("slot %s created at %s", slot, lsn_text(point))
        changes = ChangeTable(tuple(types), types, where=where, key=request.primary_key)
        if cdc.snapshot:
            _read_snapshot(conn, snapshot, table, changes, point)
            log.info("%d rows in the snapshot", changes.count)
    return _load(asset, request, engine, changes, cdc, {**state, LSN: lsn_text(point)})


def _read_snapshot(
    conn: Any, snapshot: str, table: tuple[str, str], changes: ChangeTable, point: int
) -> None:
    """The table's rows under the slot's exported snapshot, each column as text."""
    cols = ", ".join(f"{_ident(c)}::text" for c in changes.columns)
    at = datetime.now(UTC)
    # the transaction's first statement imports the snapshot (psycopg2 opens it with BEGIN
    # ISOLATION LEVEL REPEATABLE READ, which importing a snapshot needs)
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True, autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("set transaction snapshot %s", [snapshot])
        with conn.cursor(name="hw_cdc_snapshot") as cur:  # server-side: bounded memory
            cur.itersize = 20_000
            cur.execute(f"select {cols} from {_ident(table[0])}.{_ident(table[1])}")
            for row in cur:
                changes.add_row("snapshot", row, point, at)
    finally:
        conn.rollback()
        conn.set_session(isolation_level="DEFAULT", readonly="DEFAULT", autocommit=True)


def _load(
    asset: str,
    request: LoadRequest,
    engine: Engine,
    changes: ChangeTable,
    cdc: CdcSettings,
    state: dict[str, Any],
) -> LoadResult:
    """One load of ``changes`` with ``state``: the rows through the engine's write, the
    deletes (and kept TOASTed values) by hooks inside the same transaction."""
    if request.write == "append":  # every change a row; deletes: their key
        table = changes.table(collapse=False)
        return engine.load(asset, replace(request, batches=_reader(table), state=state))
    table = changes.table(collapse=True)
    deleted = changes.deleted_keys()
    keep = changes.keep_unchanged()
    target = f'"{request.schema}"."{request.table}"'
    exists = engine.exists(request.schema, request.table) and not request.full_refresh
    before, audit = request.before_stage, request.audit

    def before_(cur: Any) -> Any:
        if keep is not None and exists:
            save_unchanged(cur, target, changes, keep)
        return before(cur) if before is not None else None

    def audit_(cur: Any, target_: str) -> Any:
        if keep is not None and exists:
            restore_unchanged(cur, target_, changes, keep)
        apply_deletes(
            cur, target_, changes, deleted, write=request.write, soft=cdc.deletes == "soft"
        )
        return audit(cur, target_) if audit is not None else None

    load = replace(request, batches=_reader(table), state=state, before_stage=before_, audit=audit_)
    return engine.load(asset, load)


def _reader(table: pa.Table) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


def _column_types(cur: Any, schema: str, table: str, where: str) -> dict[str, tuple[int, int]]:
    """The table's columns in order: name -> (type OID, type modifier)."""
    cur.execute(
        "select a.attname, a.atttypid, a.atttypmod from pg_attribute a "
        "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped "
        "order by a.attnum",
        [schema, table],
    )
    rows = cur.fetchall()
    if not rows:
        raise SourceError(f"{where}: table {schema}.{table} does not exist")
    return {name: (int(oid), int(mod)) for name, oid, mod in rows}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
