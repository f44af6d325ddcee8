"""One sync step: the changes of a model since its last sync (``Engine.sync_read``: each
engine's ``sync_diff.py``) merged into its target table, then recorded.

Order, and why it is safe to retry: the changes are read in one warehouse transaction;
the target gets them in one transaction of its own (all or nothing); only after the
target commits are the model's rows recorded as the synced state (with the sync's row
in ``_headwater.syncs`` and ``_headwater.loads``). A failure before the target's commit
leaves both as they were, and the retry sends the same changes. A failure between the two
commits leaves the old state: the retry sends those changes again, and upserting a row
already there changes nothing (deletes of keys already gone delete nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from headwater.config.secrets import interpolate_url
from headwater.config.settings import ProjectSettings, SyncSettings
from headwater.engines.base import SYNC_OP as OP
from headwater.engines.base import SyncCounts
from headwater.engines.protocol import Engine, SyncReader
from headwater.errors import ProjectError, SourceError
from headwater.project.asset import Asset
from headwater.sources.pools import connection_slot
from headwater.syncs.target import open_target


@dataclass(frozen=True)
class SyncPlan:
    """What a sync would change: counts and up to a few rows of each kind of change."""

    sync: str
    model: str
    connection: str
    table: str
    counts: SyncCounts
    sample: dict[str, list[dict[str, Any]]]


def sync_name(asset: Asset) -> str:
    """``x`` of the step ``sync.x``."""
    return asset.name.removeprefix("sync.")


def _settings(asset: Asset) -> SyncSettings:
    if asset.sync is None:  # pragma: no cover - the runtime sends only sync steps here
        raise ProjectError(f"{asset.name} is not a sync")
    return asset.sync


def _columns(engine: Engine, asset: Asset) -> list[str]:
    """The synced columns: the sync's ``columns`` or every column of the model; the key
    among them, all of them in the model (ProjectError otherwise, naming the sync)."""
    cfg, model = _settings(asset), asset.deps[0]
    if not engine.capabilities.sync_diff:
        raise ProjectError(
            f"{asset.location}: sync {sync_name(asset)!r}: syncs need the engine capability "
            f"sync_diff, which the {engine.capabilities.dialect} engine has not"
        )
    schema, _, table = model.partition(".")
    have = list(engine.columns(schema, table))
    if not have:
        raise ProjectError(
            f"{asset.location}: sync {sync_name(asset)!r}: {model} is not in the warehouse "
            f"yet (build it: headwater run -s {model})"
        )
    wanted = cfg.columns if cfg.columns is not None else have
    missing = [c for c in [*cfg.key, *wanted] if c not in have]
    if missing:
        raise ProjectError(
            f"{asset.location}: sync {sync_name(asset)!r}: {model} has no column "
            f"{', '.join(repr(c) for c in dict.fromkeys(missing))}"
        )
    return [*cfg.key, *[c for c in wanted if c not in cfg.key]]


def plan_sync(engine: Engine, asset: Asset, *, sample: int = 5) -> SyncPlan:
    """What syncing ``asset`` now would change; reads the warehouse only (``engine`` may be
    read-only) and never connects to the target."""
    cfg = _settings(asset)
    columns = _columns(engine, asset)
    with engine.sync_read(
        sync=sync_name(asset),
        model=asset.deps[0],
        key=cfg.key,
        columns=columns,
        deletes=cfg.deletes,
    ) as read:
        counts = read.counts()
        rows = read.sample(sample) if sample else {"inserts": [], "updates": [], "deletes": []}
    return SyncPlan(sync_name(asset), asset.deps[0], cfg.connection, cfg.table, counts, rows)


def run_sync(
    asset: Asset,
    *,
    engine: Engine,
    settings: ProjectSettings,
    run_id: str,
    log: logging.Logger,
) -> dict[str, Any]:
    """Sync ``asset`` (see the module docstring); the step's row counts: ``rows_in`` the
    model's rows, ``rows_out`` the rows inserted, updated or deleted in the target."""
    cfg = _settings(asset)
    name = sync_name(asset)
    columns = _columns(engine, asset)
    load_id = engine.new_load_id()
    with engine.sync_read(
        sync=name, model=asset.deps[0], key=cfg.key, columns=columns, deletes=cfg.deletes
    ) as read:
        counts = read.counts()
        log.info(
            "sync %s: %d rows of %s; %d to insert, %d to update, %d to delete in %s",
            name, counts.rows, asset.deps[0], counts.inserts, counts.updates,
            counts.deletes, cfg.table,
        )  # fmt: skip
        if counts.inserts or counts.updates or counts.deletes:
            _write(read, cfg, columns, settings, counts, log)
        read.commit_state(
            {
                "load_id": load_id,
                "sync": name,
                "run_id": run_id,
                "connection": cfg.connection,
                "target": cfg.table,
                "rows_read": counts.rows,
                "inserted": counts.inserts,
                "updated": counts.updates,
                "deleted": counts.deletes,
            }
        )
    return {"rows_in": counts.rows, "rows_out": counts.inserts + counts.updates + counts.deletes}


def _write(
    read: SyncReader,
    cfg: SyncSettings,
    columns: list[str],
    settings: ProjectSettings,
    counts: SyncCounts,
    log: logging.Logger,
) -> None:
    """The changes into the target, in one target transaction."""
    conn = settings.connections[cfg.connection]
    url = interpolate_url(conn.url, where=f"connection {cfg.connection!r}")
    with connection_slot(cfg.connection, conn.max_concurrent, log):
        target = open_target(url, connection=cfg.connection, table=cfg.table)
        try:
            types = target.column_types()
            if not types:
                raise SourceError(
                    f"connection {cfg.connection!r}: sync target table {cfg.table!r} not found"
                )
            missing = [c for c in columns if c not in types]
            if missing:
                raise SourceError(
                    f"connection {cfg.connection!r}: table {cfg.table!r} has no column "
                    f"{', '.join(repr(c) for c in missing)} (the sync writes {', '.join(columns)})"
                )
            # the keys first: the upserts are a stream on the warehouse cursor
            removed = read.removed(cfg.batch_size) if counts.deletes else None
            upserts = _without_op(read.upserts(cfg.batch_size))
            done = target.apply(upserts, removed, key=cfg.key, columns=columns, types=types)
        finally:
            target.close()
    log.info("sync: %d rows upserted, %d deleted in %s", done.sent, done.deleted, cfg.table)


def _without_op(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """``reader``'s batches without the insert/update column (the target needs neither)."""
    keep = [n for n in reader.schema.names if n != OP]
    schema = pa.schema([reader.schema.field(n) for n in keep])

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            yield batch.select(keep)

    return pa.RecordBatchReader.from_batches(schema, batches())
