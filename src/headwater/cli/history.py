"""``runs``, ``show`` and ``query``: read the metastore and the warehouse."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from headwater.errors import EngineError, HeadwaterError
from headwater.metastore import Metastore
from headwater.project import Project


def _secs(start: datetime | None, end: datetime | None) -> str:
    return f"{(end - start).total_seconds():.2f}s" if start and end else "-"


def print_runs(console: Console, project: Project, limit: int) -> None:
    store = Metastore.open(project.metastore_url)
    try:
        store.mark_abandoned()
        table = Table("run", "status", "started (UTC)", "took", "trigger", "selection")
        for r in store.runs(limit):
            table.add_row(
                r.run_id,
                r.status,
                f"{r.started_at:%Y-%m-%d %H:%M:%S}",
                _secs(r.started_at, r.finished_at),
                r.trigger,
                r.selection or "all",
            )
        console.print(table)
    finally:
        store.close()


def print_run(console: Console, project: Project, run_id: str) -> None:
    store = Metastore.open(project.metastore_url)
    try:
        record = store.get_run(run_id)
        if record is None:
            raise HeadwaterError(f"no run {run_id!r} (see `headwater runs`)")
        console.print(
            f"run {record.run_id}: {record.status}, started {record.started_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"took {_secs(record.started_at, record.finished_at)}, trigger {record.trigger}"
            + (f" (retry of {record.parent_run_id})" if record.parent_run_id else ""),
            highlight=False,
        )
        table = Table("step", "kind", "status", "attempts", "took", "rows in", "rows out", "error")
        for s in store.step_runs(record.run_id):
            table.add_row(
                s.step,
                s.kind,
                s.status,
                str(s.attempts),
                _secs(s.started_at, s.finished_at),
                "" if s.rows_in is None else str(s.rows_in),
                "" if s.rows_out is None else str(s.rows_out),
                (s.error or "").splitlines()[0][:120] if s.error else "",
            )
        console.print(table)
    finally:
        store.close()


# A warehouse not loaded since it was made by an older Headwater has rows_in and lacks the
# newer columns (the CLI opens it read-only: it is migrated by the next run): UNION BY NAME
# supplies whichever are missing, as NULL.
_LOADS = (
    "(select * from _headwater.loads union all by name select null::bigint as rows_in, "
    "null::bigint as rows_read, null::bigint as rows_superseded, null::json as schema_changes "
    "where false)"
)
# each recorded change as "column OLD -> NEW: what the contract did" ("new" / "gone" for a
# column added / no longer in the source)
_SCHEMA_CHANGES = (
    'array_to_string(list_transform(from_json(schema_changes, \'[{"column": "VARCHAR", '
    '"old_type": "VARCHAR", "new_type": "VARCHAR", "action": "VARCHAR"}]\'), lambda c: '
    "c.column || ' ' || coalesce(c.old_type, 'new') || ' -> ' || coalesce(c.new_type, 'gone') "
    "|| ': ' || c.action), '; ')"
)


def print_loads(console: Console, project: Project, asset: str | None, limit: int) -> None:
    where = ""
    if asset is not None:
        names = [
            a.name for a in project.graph if a.kind == "source" and asset in (a.name, a.short_name)
        ]
        if not names:
            raise HeadwaterError(f"no source asset {asset!r}")
        where = f"where asset = '{names[0]}'"
    sql = (
        'select load_id, asset, run_id as run, coalesce(rows_read, rows_in) as "rows read", '
        'rows_written as "rows written", rows_rejected as "rows rejected", '
        'rows_superseded as "rows superseded", '
        "strftime(loaded_at at time zone 'UTC', '%Y-%m-%d %H:%M:%S') as \"loaded at (UTC)\", "
        f'{_SCHEMA_CHANGES} as "schema changes" '
        f"from {_LOADS} {where} order by loaded_at desc limit {int(limit)}"
    )
    print_query(console, project, sql, "table")


def print_query(console: Console, project: Project, sql: str, fmt: str) -> None:
    import duckdb

    if not project.warehouse_path.exists():
        raise HeadwaterError(
            f"{project.warehouse_path}: no warehouse yet (run `headwater run` first)"
        )
    from headwater.engines.duckdb.engine import connect

    con = connect(project.warehouse_path, read_only=True)  # WarehouseBusy while a run writes
    try:
        # instants print in UTC, as the warehouse keeps them: the same answer on every machine
        con.execute("set TimeZone = 'UTC'")
        try:
            rel = con.sql(sql)
            if rel is None:
                return
            columns = rel.columns
            rows = rel.fetchall()  # a SELECT runs here: its errors too
        except duckdb.Error as exc:
            raise EngineError(f"query failed: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    _emit(console, columns, rows, fmt)


def _emit(console: Console, columns: list[str], rows: list[tuple[Any, ...]], fmt: str) -> None:
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "json":
        sys.stdout.write(
            json.dumps([dict(zip(columns, r, strict=True)) for r in rows], default=str, indent=1)
            + "\n"
        )
    elif fmt == "table":
        table = Table(*columns)
        for r in rows:
            table.add_row(*("NULL" if v is None else str(v) for v in r))
        console.print(table)
    else:
        raise HeadwaterError(f"unknown format {fmt!r} (table, csv, json)")
