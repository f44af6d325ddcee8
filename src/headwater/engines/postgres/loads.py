"""One source load in one PostgreSQL transaction: stage (binary COPY), reconcile schema,
write, record state.

The write dispositions mean what they mean on DuckDB (see
:mod:`headwater.engines.duckdb.loads`): ``append`` inserts (rows at the old cursor mark
already loaded are dropped, :mod:`.boundary`); ``replace`` deletes the table's rows and
inserts the new ones (skipped when identical, by row count and a sum of row hashes);
``merge`` upserts on the primary key, never rewriting an identical row nor overwriting a
newer one (by cursor); ``scd2`` closes the current version of a new or changed key and adds
one. The rows, the state (``_headwater.state``) and the load's line (``_headwater.loads``)
commit together; anything raised, or the process killed mid-COPY, rolls all of it back,
the staging temp tables included. The load plans without nested loops, and the table's
statistics are refreshed once its rows are written, before ``audit`` and the commit
(:mod:`.planning`).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from headwater.engines.base import (
    LOAD_ID,
    LOADED_AT,
    METADATA_PREFIX,
    STATE_SCHEMA,
    VALID_FROM,
    VALID_TO,
    LoadRequest,
    LoadResult,
    SchemaChange,
)
from headwater.engines.postgres import boundary, contract
from headwater.engines.postgres.connection import PgCursor
from headwater.engines.postgres.files import Buckets, LocalScan, local_scan
from headwater.engines.postgres.materialize import _typed, kind_of
from headwater.engines.postgres.planning import analyze
from headwater.engines.postgres.project_sql import ProjectCursor
from headwater.engines.postgres.sql import (
    column_list,
    fingerprint_query,
    ident,
    qualified,
    same_keys,
)
from headwater.engines.postgres.stream import SEQ, copy_into
from headwater.engines.postgres.superseded import drop_stale, latest_per_key
from headwater.errors import EngineError, SourceError

NEW = "_hw_new"
DELTA = "_hw_delta"


def run_load(cur: PgCursor, asset: str, req: LoadRequest, buckets: Buckets) -> LoadResult:
    """The load in one transaction: all of it commits, or nothing."""
    target = qualified(req.schema, req.table)
    meta = f"{int(req.load_id)}::bigint as {LOAD_ID}, now() as {LOADED_AT}"
    with local_scan(f"{req.schema}.{req.table}", buckets) as files, cur.transaction():
        result = _load_rows(cur, asset, req, target, meta, files)
        cur.execute(f"drop table if exists {NEW}")
        cur.execute(f"drop table if exists {DELTA}")
    return result


def _load_rows(
    cur: PgCursor, asset: str, req: LoadRequest, target: str, meta: str, files: LocalScan
) -> LoadResult:
    if req.before_stage is not None:
        req.before_stage(ProjectCursor(cur))
    if req.full_refresh:  # transactional DDL: a rollback brings the table back
        cur.execute(f"drop table if exists {target}")
        if not req.advance_state:
            cur.execute(f"delete from {STATE_SCHEMA}.state where asset = ?", [asset])
    rows_read = _stage(cur, req, files)
    rejected_before = _scalar(cur, f"select count(*) from {STATE_SCHEMA}.rejected_rows")
    _record_rejects(cur, asset, req, files)
    cols = [c for c, _ in _typed(cur, NEW) if not c.startswith(METADATA_PREFIX) or c == "_hw_file"]
    _require_key_columns(asset, req, cols, rows_read)
    mark = boundary.cursor_max(cur, req, cols, NEW)
    state = boundary.next_state(cur, req, cols, mark, NEW)
    if req.write == "append" and req.cursor and req.boundary is not None:
        boundary.drop_already_loaded(cur, req, cols, NEW)
    superseded = 0
    if req.write in ("merge", "scd2") and req.primary_key:
        superseded = latest_per_key(cur, req, NEW)
    if req.screen is not None:
        req.screen(ProjectCursor(cur), NEW)
    written, stale, changes = _write_staged(cur, asset, req, target, cols, meta)
    if written or changes or req.write == "scd2":  # scd2 may only close versions
        analyze(cur, target)
    if req.audit is not None:  # may raise: nothing of this load commits
        req.audit(ProjectCursor(cur), target)
    rejected = _scalar(cur, f"select count(*) from {STATE_SCHEMA}.rejected_rows") - rejected_before
    result = LoadResult(
        rows_read=rows_read,
        rows_written=written,
        rows_rejected=rejected,
        cursor_max=mark,
        rows_superseded=superseded + stale,
        schema_changes=tuple(changes),
    )
    _record(cur, asset, req, state, result)
    return result


def _stage(cur: PgCursor, req: LoadRequest, files: LocalScan) -> int:
    """The new rows in the temp table NEW (with ``_hw_seq``, their read order): an Arrow
    stream, or the rows of ``scan_sql`` read here (:mod:`.files`), by binary COPY."""
    cur.execute(f"drop table if exists {NEW}")
    if req.batches is not None:
        return copy_into(cur, NEW, req.batches, temp=True)
    if req.scan_sql is None:
        raise EngineError("a load needs batches or scan_sql")
    if req.scan_in_warehouse:  # rows already here (a release): no round trip through Arrow
        from headwater.engines.dialects import render

        cur.execute(
            f"create temp table {NEW} as select *, row_number() over () - 1 as {SEQ} "
            f"from ({render(req.scan_sql, 'postgres')}) as _hw_scan"
        )
        return _scalar(cur, f"select count(*) from {NEW}")
    return copy_into(cur, NEW, files.batches(req.scan_sql), temp=True)


def _require_key_columns(asset: str, req: LoadRequest, cols: list[str], rows: int) -> None:
    wanted = [*req.primary_key, *([req.cursor] if req.cursor else [])]
    missing = [k for k in wanted if k not in cols]
    if missing and rows:
        raise SourceError(
            f"{asset}: column {missing[0]!r} (primary key or cursor) is not in the extracted "
            f"data; columns: {', '.join(cols)}"
        )


def _write_staged(
    cur: PgCursor, asset: str, req: LoadRequest, target: str, cols: list[str], meta: str
) -> tuple[int, int, list[SchemaChange]]:
    """Write NEW into ``target``: rows written, rows stale by cursor, schema changes."""
    if kind_of(cur, req.schema, req.table) is None:
        history = (
            f", now() as {VALID_FROM}, null::timestamptz as {VALID_TO}"
            if req.write == "scd2"
            else ""
        )
        written = cur.execute(
            f"create table {target} as select {column_list(cols)}, {meta}{history} "
            f"from {NEW} order by {SEQ}"
        ).rowcount
        return written, 0, []
    cols, changes = contract.apply(
        cur, req.contract, contract.diff(cur, NEW, req.schema, req.table),
        staged=NEW, schema=req.schema, table=req.table, asset=asset, load_id=req.load_id,
    )  # fmt: skip
    cols = [c for c in cols if not c.startswith(METADATA_PREFIX) or c == "_hw_file"]
    written, stale = _write(cur, req, target, cols, meta)
    return written, stale, changes


def _write(
    cur: PgCursor, req: LoadRequest, target: str, cols: list[str], meta: str
) -> tuple[int, int]:
    types = dict(_typed(cur, target))
    names = column_list(cols)
    # the staged values in the table's types (a column the contract widened or made text)
    typed = ", ".join(f"{ident(c)}::{types[c]} as {ident(c)}" for c in cols)
    insert = f"insert into {target} ({names}, {LOAD_ID}, {LOADED_AT})"
    if req.write == "append":
        return cur.execute(f"{insert} select {typed}, {meta} from {NEW} order by {SEQ}").rowcount, 0
    if req.write == "replace":
        staged = f"(select {typed} from {NEW})"
        if _fingerprint(cur, staged, names) == _fingerprint(cur, target, names):
            return 0, 0
        cur.execute(f"delete from {target}")
        return cur.execute(f"{insert} select {typed}, {meta} from {NEW} order by {SEQ}").rowcount, 0
    current = (
        f"(select * from {target} where {VALID_TO} is null)" if req.write == "scd2" else target
    )
    stored = current
    if req.primary_key:  # only stored rows of the new keys can equal a new row
        new_keys = same_keys(req.primary_key, "s", "n")
        stored = (
            f"(select s.* from {current} s where exists (select 1 from {NEW} n where {new_keys}))"
        )
    cur.execute(
        f"create temp table {DELTA} as select {typed} from {NEW} "
        f"except select {names} from {stored} as _hw_stored"
    )
    stale = drop_stale(cur, req, current, DELTA) if req.cursor else 0
    join = same_keys(req.primary_key, "t", "d")
    if req.write == "merge":
        cur.execute(f"delete from {target} t where exists (select 1 from {DELTA} d where {join})")
        return cur.execute(f"{insert} select {names}, {meta} from {DELTA}").rowcount, stale
    closed = f"exists (select 1 from {DELTA} d where {join})"
    if not req.cursor:  # a full extract: keys gone from the source are closed too
        closed += (
            f" or not exists (select 1 from {NEW} n where {same_keys(req.primary_key, 't', 'n')})"
        )
    cur.execute(f"update {target} t set {VALID_TO} = now() where {VALID_TO} is null and ({closed})")
    written = cur.execute(
        f"insert into {target} ({names}, {LOAD_ID}, {LOADED_AT}, {VALID_FROM}, {VALID_TO}) "
        f"select {names}, {meta}, now(), null::timestamptz from {DELTA}"
    ).rowcount
    return written, stale


def _fingerprint(cur: PgCursor, relation: str, names: str) -> tuple[int, int]:
    row = cur.execute(fingerprint_query(relation, names)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _record_rejects(cur: PgCursor, asset: str, req: LoadRequest, files: LocalScan) -> None:
    """The lines the file scan rejected, into ``_headwater.rejected_rows`` (or the first
    one as the load's error, ``fail_on_reject``)."""
    if not req.rejects_sql:
        return
    rejects = files.rejects(req.rejects_sql)
    if req.fail_on_reject:
        if rejects:
            file, line, _, error, raw = rejects[0]
            raise SourceError(f"{file}:{line}: {error} (line: {raw!r})")
        return
    if rejects:
        cur.raw.executemany(
            f"insert into {STATE_SCHEMA}.rejected_rows values (%s, %s, %s, %s, %s, %s, %s)",
            [(req.load_id, asset, *row) for row in rejects],
        )


def _record(
    cur: PgCursor, asset: str, req: LoadRequest, state: dict[str, Any] | None, result: LoadResult
) -> None:
    """The asset's new state and the load's line in ``_headwater.loads``."""
    if state is not None:
        cur.execute(
            f"insert into {STATE_SCHEMA}.state values (?, ?, ?, now()) on conflict (asset) do "
            "update set state = excluded.state, load_id = excluded.load_id, "
            "updated_at = excluded.updated_at",
            [asset, json.dumps(state, sort_keys=True), req.load_id],
        )
    changes = [asdict(c) for c in result.schema_changes]
    cur.execute(
        f"insert into {STATE_SCHEMA}.loads (load_id, asset, rows_read, rows_written, "
        "rows_rejected, rows_superseded, schema_changes, loaded_at, run_id) "
        "values (?, ?, ?, ?, ?, ?, ?, now(), ?) on conflict (load_id) do nothing",
        [
            req.load_id, asset, result.rows_read, result.rows_written, result.rows_rejected,
            result.rows_superseded, json.dumps(changes) if changes else None, req.run_id,
        ],
    )  # fmt: skip


def _scalar(cur: PgCursor, sql: str) -> int:
    row = cur.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
