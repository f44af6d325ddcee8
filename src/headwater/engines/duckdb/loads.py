"""One source load in one DuckDB transaction: stage, dedupe, write, record state.

Write dispositions:

- ``append``: insert every extracted row.
- ``replace``: swap the table's content for the extracted rows (skipped when identical).
- ``merge``: upsert on the primary key. Within a load, the newest row per key wins (by the
  cursor column when there is one). Rows identical to what the table holds are not rewritten,
  so a rerun with no new source data changes nothing, not even load ids. A row older (by
  cursor) than the stored one never overwrites it.

Schema evolution (basic ``evolve``): columns new in the source are added to the table.
"""

from __future__ import annotations

import contextlib
import json

import duckdb

from headwater.engines.base import (
    LOAD_ID,
    LOADED_AT,
    METADATA_PREFIX,
    STATE_SCHEMA,
    LoadRequest,
    LoadResult,
)
from headwater.engines.duckdb.sql import column_list, ident, qualified
from headwater.errors import EngineError, SourceError

NEW = "_hw_new"
DELTA = "_hw_delta"


def run_load(cur: duckdb.DuckDBPyConnection, asset: str, req: LoadRequest) -> LoadResult:
    target = qualified(req.schema, req.table)
    cur.execute("begin transaction")
    try:
        _stage(cur, req)
        rows_in = _scalar(cur, f"select count(*) from {NEW}")
        rejected = _record_rejects(cur, asset, req)
        data_cols = [
            c
            for c in _temp_columns(cur, NEW)
            if not c.startswith(METADATA_PREFIX) or c == "_hw_file"
        ]
        missing = [
            k
            for k in [*req.primary_key, *([req.cursor] if req.cursor else [])]
            if k not in data_cols
        ]
        if missing and rows_in:
            raise SourceError(
                f"{asset}: column {missing[0]!r} (primary key or cursor) is not in the extracted data; columns: {', '.join(data_cols)}"
            )
        cursor_max = None
        if req.cursor and req.cursor in data_cols:
            value = cur.execute(f"select max({ident(req.cursor)})::varchar from {NEW}").fetchone()
            cursor_max = value[0] if value else None
        exists = _exists(cur, req.schema, req.table)
        if req.write == "merge" and req.primary_key:
            _dedupe(cur, req)
        meta = f"'{req.load_id}' as {LOAD_ID}, now() as {LOADED_AT}"
        if not exists:
            cur.execute(
                f"create table {target} as select {column_list(data_cols)}, {meta} from {NEW}"
            )
            written = (
                rows_in if req.write != "merge" else _scalar(cur, f"select count(*) from {target}")
            )
        else:
            _evolve(cur, req, data_cols)
            written = _write(cur, req, target, data_cols, meta)
        state = dict(req.state)
        if req.cursor and cursor_max is not None:
            # the window was read with cursor >= old value, so the batch's max is the new mark
            state["cursor"] = cursor_max
        cur.execute(
            f"insert or replace into {STATE_SCHEMA}.state values (?, ?, ?, now())",
            [asset, json.dumps(state, sort_keys=True), req.load_id],
        )
        cur.execute(
            f"insert or replace into {STATE_SCHEMA}.loads values (?, ?, ?, ?, ?, now())",
            [req.load_id, asset, rows_in, written, rejected],
        )
        cur.execute("commit")
    except BaseException:
        cur.execute("rollback")
        raise
    finally:
        cur.execute(f"drop table if exists {NEW}")
        cur.execute(f"drop table if exists {DELTA}")
        if req.batches is not None:
            with contextlib.suppress(duckdb.Error):
                cur.unregister("_hw_batches")
    return LoadResult(
        rows_in=rows_in, rows_written=written, rows_rejected=rejected, cursor_max=cursor_max
    )


def _stage(cur: duckdb.DuckDBPyConnection, req: LoadRequest) -> None:
    cur.execute(f"drop table if exists {NEW}")
    if req.batches is not None:
        cur.register("_hw_batches", req.batches)
        cur.execute(f"create temp table {NEW} as select * from _hw_batches")
    elif req.scan_sql is not None:
        try:
            cur.execute(f"create temp table {NEW} as {req.scan_sql}")
        except duckdb.Error as exc:
            raise SourceError(f"{req.schema}.{req.table}: {str(exc).splitlines()[0]}") from None
    else:
        raise EngineError("a load needs batches or scan_sql")


def _record_rejects(cur: duckdb.DuckDBPyConnection, asset: str, req: LoadRequest) -> int:
    if not req.rejects_sql:
        return 0
    if req.fail_on_reject:
        first = cur.execute(
            f"select file, line, error, raw from ({req.rejects_sql}) limit 1"
        ).fetchone()
        if first:
            raise SourceError(f"{first[0]}:{first[1]}: {first[2]} (line: {first[3]!r})")
        return 0
    before = _scalar(cur, f"select count(*) from {STATE_SCHEMA}.rejected_rows")
    cur.execute(
        f"insert into {STATE_SCHEMA}.rejected_rows "
        f'select ?, ?, file, line, "column", error, raw from ({req.rejects_sql})',
        [req.load_id, asset],
    )
    return _scalar(cur, f"select count(*) from {STATE_SCHEMA}.rejected_rows") - before


def _dedupe(cur: duckdb.DuckDBPyConnection, req: LoadRequest) -> None:
    """Keep one row per key: the newest by cursor, then the last read."""
    keys = column_list(req.primary_key)
    order = f"{ident(req.cursor)} desc nulls last" if req.cursor else "1"
    cur.execute(
        f"create or replace temp table {NEW} as select * from {NEW} "
        f"qualify row_number() over (partition by {keys} order by {order}) = 1"
    )


def _evolve(cur: duckdb.DuckDBPyConnection, req: LoadRequest, data_cols: list[str]) -> None:
    existing = {
        name
        for (name,) in cur.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [req.schema, req.table],
        ).fetchall()
    }
    types = dict(cur.execute(f"select column_name, column_type from (describe {NEW})").fetchall())
    for col in data_cols:
        if col not in existing:
            cur.execute(
                f"alter table {qualified(req.schema, req.table)} add column {ident(col)} {types[col]}"
            )


def _write(
    cur: duckdb.DuckDBPyConnection, req: LoadRequest, target: str, cols: list[str], meta: str
) -> int:
    collist = column_list(cols)
    if req.write == "append":
        cur.execute(f"insert into {target} by name select {collist}, {meta} from {NEW}")
        return _scalar(cur, f"select count(*) from {NEW}")
    if req.write == "replace":
        differs = _scalar(
            cur,
            f"select count(*) from ((select {collist} from {NEW} except all select {collist} from {target}) union all (select {collist} from {target} except all select {collist} from {NEW}))",
        )
        if not differs:
            return 0
        cur.execute(f"delete from {target}")
        cur.execute(f"insert into {target} by name select {collist}, {meta} from {NEW}")
        return _scalar(cur, f"select count(*) from {NEW}")
    # merge: only rows that are new or changed, and not older than what is stored
    cur.execute(
        f"create temp table {DELTA} as select {collist} from {NEW} except select {collist} from {target}"
    )
    keys = req.primary_key
    join = " and ".join(f"t.{ident(k)} is not distinct from d.{ident(k)}" for k in keys)
    if req.cursor:
        c = ident(req.cursor)
        cur.execute(
            f"delete from {DELTA} d where exists (select 1 from {target} t where {join} and t.{c} > d.{c})"
        )
    cur.execute(f"delete from {target} t where exists (select 1 from {DELTA} d where {join})")
    cur.execute(f"insert into {target} by name select {collist}, {meta} from {DELTA}")
    return _scalar(cur, f"select count(*) from {DELTA}")


def _temp_columns(cur: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in cur.execute(f"describe {table}").fetchall()]


def _exists(cur: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        _scalar(
            cur,
            f"select count(*) from information_schema.tables where table_schema = '{schema}' and table_name = '{table}'",
        )
    )


def _scalar(cur: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = cur.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
