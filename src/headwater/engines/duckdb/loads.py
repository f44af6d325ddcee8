"""One source load in one DuckDB transaction: stage, reconcile schema, write, record state.

Write dispositions:

- ``append``: insert every new row. Reads are inclusive of the last cursor value; rows at
  that boundary already loaded are recognised by a hash kept in the state, so a row added
  later with the same cursor value is neither lost nor duplicated
  (:mod:`headwater.engines.duckdb.boundary`).
- ``replace``: swap the table's content for the extracted rows (skipped when identical, by
  row count and a sum of row hashes: see :func:`_fingerprint`).
- ``merge``: upsert on the primary key. Rows identical to what the table holds are not
  rewritten, so a rerun with no new source data changes nothing, not even load ids. A row
  older (by cursor) than the stored one never overwrites it.
- ``scd2``: keep history. A new or changed row closes the current version of its key
  (``_hw_valid_to`` = load time) and adds a version valid from the load time. On a full
  (non-incremental) extract, keys absent from the source are closed too.

Several rows of one key in one load (merge, scd2): the latest wins, and the others are
counted as superseded (:mod:`headwater.engines.duckdb.superseded`).

Schema changes follow the load's contract (:mod:`headwater.engines.duckdb.contract`); each
change and what was done about it is returned (``LoadResult.schema_changes``) and recorded
as JSON in ``_headwater.loads.schema_changes``.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict
from typing import Any

import duckdb

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
from headwater.engines.duckdb import boundary, contract, database_scan
from headwater.engines.duckdb.sql import (
    column_list,
    fingerprint_query,
    qualified,
    same_keys,
)
from headwater.engines.duckdb.stream import unregister, write_stream
from headwater.engines.duckdb.superseded import drop_stale, latest_per_key
from headwater.errors import EngineError, SourceError

NEW = "_hw_new"
DELTA = "_hw_delta"


def run_load(cur: duckdb.DuckDBPyConnection, asset: str, req: LoadRequest) -> LoadResult:
    target = qualified(req.schema, req.table)
    meta = f"cast({int(req.load_id)} as bigint) as {LOAD_ID}, now() as {LOADED_AT}"
    if req.database_scan is not None:
        with database_scan.source_session(cur, req.database_scan):
            return _load(cur, asset, req, target, meta)
    return _load(cur, asset, req, target, meta)


def _load(
    cur: duckdb.DuckDBPyConnection, asset: str, req: LoadRequest, target: str, meta: str
) -> LoadResult:
    """The load in one transaction: all of it commits, or nothing (temp tables dropped
    either way)."""
    cur.execute("begin transaction")
    try:
        result = _load_rows(cur, asset, req, target, meta)
        cur.execute("commit")
    except BaseException:
        cur.execute("rollback")
        raise
    finally:
        cur.execute(f"drop table if exists {NEW}")
        cur.execute(f"drop table if exists {DELTA}")
        if req.batches is not None:
            with contextlib.suppress(duckdb.Error):
                unregister(cur, "_hw_batches")
    return result


def _load_rows(
    cur: duckdb.DuckDBPyConnection, asset: str, req: LoadRequest, target: str, meta: str
) -> LoadResult:
    """Stage, screen, write and record, inside the caller's transaction."""
    if req.before_stage is not None:
        req.before_stage(cur)
    if req.full_refresh:  # DuckDB's DDL is transactional: a rollback brings it back
        cur.execute(f"drop table if exists {target}")
        if not req.advance_state:  # a backfill window keeps no state: forget the old one
            cur.execute(f"delete from {STATE_SCHEMA}.state where asset = ?", [asset])
    # first load, nothing to screen: write straight into the table (no temp copy)
    direct = req.screen is None and req.write != "scd2" and not _exists(cur, req.schema, req.table)
    staged = target if direct else NEW
    rows_read = _stage_checked(cur, asset, req, staged, meta, direct=direct)
    rejected_before = _scalar(cur, f"select count(*) from {STATE_SCHEMA}.rejected_rows")
    _record_rejects(cur, asset, req)
    cols = _data_columns(cur, staged)
    _require_key_columns(asset, req, cols, rows_read)
    cursor_max = boundary.cursor_max(cur, req, cols, staged)
    state = boundary.next_state(cur, req, cols, cursor_max, staged)
    if req.write == "append" and req.cursor and req.boundary is not None and not direct:
        boundary.drop_already_loaded(cur, req, cols, NEW)
    superseded = 0
    if req.write in ("merge", "scd2") and req.primary_key:
        superseded = latest_per_key(cur, req, staged, temp=not direct)
    if req.screen is not None:
        req.screen(cur, NEW)
    written, stale, changes = _write_staged(cur, asset, req, target, cols, meta, direct=direct)
    if req.audit is not None:  # may raise: nothing of this load commits
        req.audit(cur, target)
    rejected = _scalar(cur, f"select count(*) from {STATE_SCHEMA}.rejected_rows") - rejected_before
    result = LoadResult(
        rows_read=rows_read,
        rows_written=written,
        rows_rejected=rejected,
        cursor_max=cursor_max,
        rows_superseded=superseded + stale,
        schema_changes=tuple(changes),
    )
    _record(cur, asset, req, state, result)
    return result


def _stage_checked(
    cur: duckdb.DuckDBPyConnection,
    asset: str,
    req: LoadRequest,
    staged: str,
    meta: str,
    *,
    direct: bool,
) -> int:
    """Stage the rows into ``staged`` and return how many; refuse a load that lost rows."""
    inserted = _stage(cur, req, into=staged if direct else None, meta=meta)
    rows_read = _scalar(cur, f"select count(*) from {staged}")
    if inserted is not None and rows_read != inserted:
        # a safety net under MAX_INSERT_ROWS: DuckDB has lost a stream's rows silently
        raise EngineError(
            f"{asset}: the warehouse staged {rows_read} of the {inserted} rows inserted; "
            "nothing of this load is kept",
            transient=True,
        )
    if req.database_scan is not None and req.database_scan.verify is not None:
        req.database_scan.verify(cur, staged)  # every extracted row; may refuse the load
    return rows_read


def _require_key_columns(asset: str, req: LoadRequest, cols: list[str], rows: int) -> None:
    missing = [
        k for k in [*req.primary_key, *([req.cursor] if req.cursor else [])] if k not in cols
    ]
    if missing and rows:
        raise SourceError(
            f"{asset}: column {missing[0]!r} (primary key or cursor) is not in the extracted "
            f"data; columns: {', '.join(cols)}"
        )


def _write_staged(
    cur: duckdb.DuckDBPyConnection,
    asset: str,
    req: LoadRequest,
    target: str,
    cols: list[str],
    meta: str,
    *,
    direct: bool,
) -> tuple[int, int, list[SchemaChange]]:
    """Write the staged rows into ``target``: the rows written, those older (by cursor) than
    the stored row of their key, and the schema changes the contract dealt with."""
    if direct:
        return _scalar(cur, f"select count(*) from {target}"), 0, []
    if not _exists(cur, req.schema, req.table):
        return _create(cur, req, target, cols, meta), 0, []
    cols, changes = contract.apply(
        cur,
        req.contract,
        contract.diff(cur, NEW, req.schema, req.table),
        staged=NEW,
        schema=req.schema,
        table=req.table,
        asset=asset,
        load_id=req.load_id,
    )
    cols = [c for c in cols if not c.startswith(METADATA_PREFIX) or c == "_hw_file"]
    written, stale = _write(cur, req, target, cols, meta)
    return written, stale, changes


def _record(
    cur: duckdb.DuckDBPyConnection,
    asset: str,
    req: LoadRequest,
    state: dict[str, Any] | None,
    result: LoadResult,
) -> None:
    """The asset's new state and the load's line in ``_headwater.loads``."""
    if state is not None:
        cur.execute(
            f"insert or replace into {STATE_SCHEMA}.state values (?, ?, ?, now())",
            [asset, json.dumps(state, sort_keys=True), req.load_id],
        )
    changes = [asdict(c) for c in result.schema_changes]
    cur.execute(
        f"insert or replace into {STATE_SCHEMA}.loads (load_id, asset, rows_read, "
        "rows_written, rows_rejected, rows_superseded, schema_changes, loaded_at, run_id) "
        "values (?, ?, ?, ?, ?, ?, ?, now(), ?)",
        [
            req.load_id,
            asset,
            result.rows_read,
            result.rows_written,
            result.rows_rejected,
            result.rows_superseded,
            json.dumps(changes) if changes else None,
            req.run_id,
        ],
    )


def _stage(
    cur: duckdb.DuckDBPyConnection, req: LoadRequest, *, into: str | None, meta: str
) -> int | None:
    """Stage the new rows in the temp table NEW, or (``into``) create the target from them;
    for a stream, the number of rows its INSERTs reported."""
    cur.execute(f"drop table if exists {NEW}")
    if req.batches is not None:
        return write_stream(cur, req.batches, into=into, meta=meta, new=NEW)
    if req.scan_sql is None:
        raise EngineError("a load needs batches or scan_sql")
    scan = req.scan_sql
    if req.database_scan is not None:
        scan = database_scan.scan_sql(scan, req.database_scan)
    if into is None:
        sql = f"create temp table {NEW} as {scan}"
    else:
        sql = f"create table {into} as select *, {meta} from ({scan})"
    try:
        cur.execute(sql)
    except duckdb.Error as exc:
        if req.database_scan is not None:
            raise req.database_scan.translate_error(exc) from None
        raise SourceError(f"{req.schema}.{req.table}: {str(exc).splitlines()[0]}") from None
    return None


def _record_rejects(cur: duckdb.DuckDBPyConnection, asset: str, req: LoadRequest) -> None:
    if not req.rejects_sql:
        return
    if req.fail_on_reject:
        sql = f"select file, line, error, raw from ({req.rejects_sql}) limit 1"
        first = cur.execute(sql).fetchone()
        if first:
            raise SourceError(f"{first[0]}:{first[1]}: {first[2]} (line: {first[3]!r})")
        return
    cur.execute(
        f"insert into {STATE_SCHEMA}.rejected_rows "
        f'select ?, ?, file, line, "column", error, raw from ({req.rejects_sql})',
        [req.load_id, asset],
    )


def _data_columns(cur: duckdb.DuckDBPyConnection, rel: str) -> list[str]:
    names = [row[0] for row in cur.execute(f"describe {rel}").fetchall()]
    return [c for c in names if not c.startswith(METADATA_PREFIX) or c == "_hw_file"]


def _create(
    cur: duckdb.DuckDBPyConnection, req: LoadRequest, target: str, cols: list[str], meta: str
) -> int:
    history = (
        f", now() as {VALID_FROM}, null::timestamptz as {VALID_TO}" if req.write == "scd2" else ""
    )
    cur.execute(f"create table {target} as select {column_list(cols)}, {meta}{history} from {NEW}")
    return _scalar(cur, f"select count(*) from {target}")


def _fingerprint(cur: duckdb.DuckDBPyConnection, rel: str, collist: str) -> tuple[int, int]:
    """See :func:`~headwater.engines.duckdb.sql.fingerprint_query`. Measured on 1M lineitem rows:
    0.15 s for both tables, where ``EXCEPT ALL`` both ways took 3.2 s (5.9 CPU s)."""
    row = cur.execute(fingerprint_query(rel, collist)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _write(
    cur: duckdb.DuckDBPyConnection, req: LoadRequest, target: str, cols: list[str], meta: str
) -> tuple[int, int]:
    """Write NEW into ``target``: the rows written, and those left out as older (by cursor)
    than the stored row of their key (merge, scd2)."""
    collist = column_list(cols)
    if req.write == "append":
        cur.execute(f"insert into {target} by name select {collist}, {meta} from {NEW}")
        return _scalar(cur, f"select count(*) from {NEW}"), 0
    if req.write == "replace":
        if _fingerprint(cur, NEW, collist) == _fingerprint(cur, target, collist):
            return 0, 0
        cur.execute(f"delete from {target}")
        cur.execute(f"insert into {target} by name select {collist}, {meta} from {NEW}")
        return _scalar(cur, f"select count(*) from {NEW}"), 0
    current = (
        f"(select * from {target} where {VALID_TO} is null)" if req.write == "scd2" else target
    )
    # new or changed rows only, and never older (by cursor) than what is stored
    stored = current
    if req.primary_key:
        # only stored rows whose key is among the new ones can equal a new row: comparing
        # with those, not the whole table, keeps an incremental merge in proportion to its
        # rows (10k new rows against 1M stored: 0.07 s instead of 0.21 s)
        stored = f"(select s.* from {current} s semi join {NEW} n on {same_keys(req.primary_key, 's', 'n')})"
    cur.execute(
        f"create temp table {DELTA} as select {collist} from {NEW} except select {collist} from {stored}"
    )
    # in DELTA, not NEW: a stale row differs from the stored one, so it is there, and
    # DELTA is the few changed rows of a large unchanged extract
    stale = drop_stale(cur, req, current, DELTA) if req.cursor else 0
    join = same_keys(req.primary_key, "t", "d")
    if req.write == "merge":
        cur.execute(f"delete from {target} t where exists (select 1 from {DELTA} d where {join})")
        cur.execute(f"insert into {target} by name select {collist}, {meta} from {DELTA}")
        return _scalar(cur, f"select count(*) from {DELTA}"), stale
    # scd2: close the current versions of changed keys (and of vanished keys on full extracts)
    closed = f"exists (select 1 from {DELTA} d where {join})"
    if not req.cursor:
        closed += (
            f" or not exists (select 1 from {NEW} n where {same_keys(req.primary_key, 't', 'n')})"
        )
    cur.execute(f"update {target} t set {VALID_TO} = now() where {VALID_TO} is null and ({closed})")
    cur.execute(
        f"insert into {target} by name select {collist}, {meta}, now() as {VALID_FROM}, "
        f"null::timestamptz as {VALID_TO} from {DELTA}"
    )
    return _scalar(cur, f"select count(*) from {DELTA}"), stale


def _exists(cur: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    sql = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
    row = cur.execute(sql, [schema, table]).fetchone()
    return bool(row and row[0])


def _scalar(cur: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = cur.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
