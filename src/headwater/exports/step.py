"""Run one export step: write the model's rows to a new folder, then publish it.

1. the rows go to ``w<load id>/`` in the destination (``Engine.export_table``: DuckDB's
   ``COPY``, PostgreSQL's rows written by pyarrow), a folder no manifest names yet;
2. the manifest is replaced whole (:mod:`.manifest`, :mod:`.destination`): readers of the
   manifest switch from the old set to the new one at once;
3. the export is recorded in ``_headwater.loads`` (``headwater loads export.NAME``);
4. write folders that neither the new nor the previous manifest names are deleted (the
   previous set stays one more export, for readers that began before the switch; a write
   killed before step 2 is left behind unpublished and deleted here by the next export).

A run with a data interval, on a partitioned model (``partition_by`` and ``grain``), writes
only that interval's rows and keeps the other intervals' parts: each interval's files are
written once per build of that interval. A run without one writes every row. A set
published by a whole export cannot be split by interval: the next interval run writes
every row again, once.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from headwater.config.settings import ProjectSettings
from headwater.errors import ProjectError
from headwater.exports import manifest
from headwater.exports.destination import Destination
from headwater.project.asset import Asset
from headwater.project.graph import Graph
from headwater.sources.storage import access_for, open_bucket

_WRITE = re.compile(r"w\d+")  # the folders this module writes, and the only ones it deletes


def run_export(
    asset: Asset,
    *,
    engine: Any,
    settings: ProjectSettings,
    graph: Graph,
    root: Path,
    run_id: str | None,
    log: logging.Logger,
    interval: tuple[datetime, datetime] | None = None,
    tz: str = "UTC",
) -> dict[str, Any]:
    """Export ``asset``'s model and publish it; returns the step's rows and files."""
    cfg = asset.export
    assert cfg is not None
    model = graph[asset.deps[0]]
    if model.schema is None or model.table is None:
        raise ProjectError(f"{asset.location}: {asset.name}: {model.name} has no table to export")
    caps = engine.capabilities
    if not caps.files_out:
        raise ProjectError(
            f"{asset.location}: {asset.name}: exports need the engine capability files_out "
            f"(writing files), which the {caps.dialect} engine has not"
        )
    access = access_for(cfg.to, cfg.connection, settings.connections)
    if access is not None and not caps.object_store:
        raise ProjectError(
            f"{asset.location}: {asset.name}: an export to s3:// needs the engine capability "
            f"object_store, which the {caps.dialect} engine has not (export to a folder)"
        )
    if access is not None:
        open_bucket(engine, cfg.to, access)
    base = cfg.to if access is not None or Path(cfg.to).is_absolute() else str(root / cfg.to)
    dest = Destination(base.rstrip("/"), access)
    old = manifest.parse(dest.read_text(manifest.MANIFEST))
    column = model.model.partition_by if model.model and model.model.grain else None
    span = [interval[0].isoformat(), interval[1].isoformat()] if interval and column else None
    if (
        span is not None
        and old is not None
        and any(p.get("interval") is None for p in old["parts"])
    ):
        span = None  # the published set holds every row in one part: write it whole again
    load_id = int(engine.new_load_id())
    write = f"w{load_id}"
    rows, files = engine.export_table(
        model.schema, model.table, dest.url(write), fmt=cfg.format,
        partition_by=cfg.partition_by, interval=interval if span else None,
        interval_column=column, tz=tz,
    )  # fmt: skip
    part = {
        "write": write,
        "interval": span,
        "rows": rows,
        "files": [dest.relative(f) for f in files],
    }
    head = {
        "export": asset.name.removeprefix("export."),
        "model": model.name,
        "format": cfg.format,
        "partition_by": cfg.partition_by,
        "run_id": run_id,
    }
    new = manifest.build(head, manifest.kept_parts(old, span), part)
    dest.write_atomic(manifest.MANIFEST, manifest.dump(new))  # published
    engine.record_export(load_id, asset.name, run_id, rows)
    _sweep(dest, keep=manifest.writes(new) | manifest.writes(old), log=log)
    what = f"interval {span[0]} - {span[1]}" if span else "every row"
    log.info("%s: %d rows (%s) in %d files, published at %s", asset.name, rows, what,
             len(files), dest.url(manifest.MANIFEST))  # fmt: skip
    return {"rows_in": rows, "rows_out": rows, "files": len(files)}


def _sweep(dest: Destination, *, keep: set[str], log: logging.Logger) -> None:
    """Delete the write folders no manifest in ``keep`` references (old sets, killed writes)."""
    for name in dest.folders():
        if _WRITE.fullmatch(name) and name not in keep:
            log.info("removing %s (no longer published)", dest.url(name))
            dest.remove_folder(name)
