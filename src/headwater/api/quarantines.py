"""Quarantined rows: what is there (:func:`quarantine`), the rows themselves
(:func:`quarantined_rows`), and taking them out: :func:`release` (re-validated against the
asset's current checks, then loaded as a load of the asset) or :func:`discard` (deleted).

Each opens the warehouse for writing (releasing and discarding change it; the listing
shares the path), so each raises WarehouseBusy, naming the run, while a run writes it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from headwater.api.project import ProjectLike, as_project, engine_for, source_asset
from headwater.api.records import (
    QuarantineGroupInfo,
    QuarantineListing,
    QueryResult,
    RejectedInfo,
    ReleaseResult,
)
from headwater.project import Project

if TYPE_CHECKING:
    from headwater.engines.protocol import Engine

_HAS_REJECTED = (
    "select 1 from information_schema.tables "
    "where table_schema = '_headwater' and table_name = 'rejected_rows'"
)
_REJECTED = (
    "select asset, error, count(*) from _headwater.rejected_rows {where}"
    "group by asset, error order by 3 desc, 1, 2"  # no GROUP BY ALL: PostgreSQL has none
)


@contextmanager
def _engine(project: Project) -> Iterator[Engine]:
    """The warehouse for writing: a server's (never closed here), else opened and closed."""
    with engine_for(project, write=True) as engine:
        yield engine


def quarantine(project: ProjectLike, asset: str | None = None) -> QuarantineListing:
    """Quarantined rows grouped by table, failed checks and reason, and the rows loads
    rejected while reading, grouped by asset and error: every source's, or ``asset``'s
    (UnknownAssetError when it is not a source)."""
    from headwater.quality import quarantine_summary

    proj = as_project(project)
    name = source_asset(proj, asset).name if asset is not None else None
    with _engine(proj) as engine:
        groups = quarantine_summary(engine.cursor(), name)
        sql = _REJECTED.format(where="where asset = ? " if name else "")
        # a server's new warehouse has no _headwater schema until the first load
        rejected = (
            engine.cursor().execute(sql, [name] if name else []).fetchall()
            if engine.cursor().execute(_HAS_REJECTED).fetchone()
            else []
        )
    return QuarantineListing(
        [
            QuarantineGroupInfo(
                f"quarantine.{g.table}", g.checks, g.reason, g.rows, g.loads, g.last_at
            )
            for g in groups
        ],
        [RejectedInfo(a, e, n) for a, e, n in rejected],
    )


def quarantined_rows(
    project: ProjectLike,
    asset: str,
    *,
    check: str | None = None,
    load_id: str | None = None,
    limit: int = 50,
) -> QueryResult:
    """At most ``limit`` quarantined rows of ``asset``: first ``check`` (the checks they
    failed), ``reason``, ``load_id``, ``quarantined_at``, then the row's own columns;
    ``check`` / ``load_id`` keep only that check's / that load's rows."""
    from headwater.quality.rows import quarantined_rows as rows_of

    proj = as_project(project)
    name = source_asset(proj, asset).name
    with _engine(proj) as engine:
        columns, rows = rows_of(engine.cursor(), name, check=check, load_id=load_id, limit=limit)
    return QueryResult(columns, rows)


def discard(
    project: ProjectLike, asset: str, *, check: str | None = None, load_id: str | None = None
) -> int:
    """Delete ``asset``'s quarantined rows for good (those of one ``check`` and/or one
    ``load_id`` when given), in one transaction; the number of rows deleted."""
    from headwater.quality import discard as do_discard

    proj = as_project(project)
    name = source_asset(proj, asset).name
    with _engine(proj) as engine:  # all or nothing, on every engine (Engine protocol)
        n = engine.change_quarantine(
            name, lambda cur: do_discard(cur, name, check=check, load_id=load_id)
        )
    return int(n)


def release(
    project: ProjectLike,
    asset: str,
    *,
    check: str | None = None,
    load_id: str | None = None,
    force: bool = False,
) -> ReleaseResult:
    """Take ``asset``'s quarantined rows (those of ``check`` / ``load_id``) that now pass
    its checks back into its table, as a load of the asset (recorded in ``loads``);
    ``force`` releases them without re-validating. Rows still failing stay. Nothing is
    loaded when no selected row passes (``released`` 0)."""
    proj = as_project(project)
    spec = source_asset(proj, asset)
    with _engine(proj) as engine:
        return _release(engine, spec, check=check, load_id=load_id, force=force)


def _release(
    engine: Any, asset: Any, *, check: str | None, load_id: str | None, force: bool
) -> ReleaseResult:
    """The released rows loaded through the engine's load (staging, contract, recording):
    ``prepare`` runs inside the load's transaction, so a failed load releases nothing."""
    from headwater.engines.base import LoadRequest
    from headwater.engines.screen import WithReads
    from headwater.quality import release as do_release
    from headwater.quality.release import RELEASED

    outcome: dict[str, Any] = {}

    def prepare(cur: Any) -> None:
        released = do_release(
            cur, asset.name, checks=asset.checks, check=check, load_id=load_id, force=force
        )
        outcome["released"] = released
        if not released.rows:
            raise _NothingToRelease()

    spec = asset.source
    request = LoadRequest(
        schema=asset.schema,
        table=asset.table,
        load_id=engine.new_load_id(),
        write=spec.write,
        primary_key=spec.primary_key,
        cursor=spec.cursor,
        scan_sql=f"select * from {RELEASED}",
        scan_in_warehouse=True,  # the temp table prepare() leaves in the warehouse
        # the checks it re-validates: an engine running it outside the warehouse reads
        # their other tables for it (headwater.engines.screen)
        before_stage=WithReads(prepare, [c for c in asset.checks if c.quarantines and not force]),
        advance_state=False,
        contract=spec.settings.contract,
    )
    try:
        written = engine.load(asset.name, request).rows_written
    except _NothingToRelease:
        written = 0
    released = outcome.get("released")
    rows, remaining = (released.rows, released.remaining) if released else (0, 0)
    return ReleaseResult(asset.name, asset.table, rows, written, remaining)


class _NothingToRelease(Exception):
    """No selected row passes: the load stops before it stages anything."""
