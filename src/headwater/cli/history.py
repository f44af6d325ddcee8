"""``runs``, ``show`` and ``query``: read the metastore and the warehouse."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from headwater.cli.options import check_format
from headwater.errors import EngineError, HeadwaterError, UnknownAssetError
from headwater.metastore import Metastore
from headwater.metastore.records import RunRecord, StepRunRecord
from headwater.project import Project


def _secs(start: datetime | None, end: datetime | None) -> str:
    return f"{(end - start).total_seconds():.2f}s" if start and end else "-"


def print_runs(console: Console, project: Project, limit: int, fmt: str = "table") -> None:
    """Recent runs, newest first: kind (run, retry, check), status, what a retry retried."""
    check_format(fmt, ("table", "json"))
    store = Metastore.open(project.metastore_url)
    try:
        store.mark_abandoned()
        records = store.runs(limit)
    finally:
        store.close()
    if fmt == "json":
        _json([run_json(r) for r in records])
        return
    table = Table("run", "kind", "status", "started (UTC)", "took", "trigger", "selection")
    for r in records:
        table.add_row(
            r.run_id,
            r.kind + (f" of {r.parent_run_id}" if r.parent_run_id else ""),
            _status(r),
            f"{r.started_at:%Y-%m-%d %H:%M:%S}",
            _secs(r.started_at, r.finished_at),
            r.trigger,
            r.selection or "all",
        )
    console.print(table)


def _status(record: RunRecord) -> str:
    # a check run that found a blocking failure built nothing and broke nothing: say so,
    # rather than "failed" next to the runs that build the warehouse
    return (
        "checks failed" if record.kind == "check" and record.status == "failed" else record.status
    )


def run_json(record: RunRecord) -> dict[str, Any]:
    """A run as JSON (instants in ISO 8601 UTC, ``seconds`` None while it runs)."""
    return {
        "run_id": record.run_id,
        "kind": record.kind,
        "status": record.status,
        "trigger": record.trigger,
        "parent_run_id": record.parent_run_id,
        "pipeline": record.pipeline,
        "selection": record.selection,
        "started_at": record.started_at.isoformat(),
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        "seconds": _seconds(record.started_at, record.finished_at),
    }


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 3) if start and end else None


def _json(document: Any) -> None:
    """One JSON document on stdout, nothing else (values JSON lacks become strings)."""
    sys.stdout.write(json.dumps(document, default=str, indent=1) + "\n")


def print_run(console: Console, project: Project, run_id: str, fmt: str = "table") -> None:
    """One run and its steps; the JSON keeps each error whole (the table shows its first
    line, cut at 120 characters)."""
    check_format(fmt, ("table", "json"))
    store = Metastore.open(project.metastore_url)
    try:
        record = store.get_run(run_id)
        if record is None:
            raise HeadwaterError(f"no run {run_id!r} (see `headwater runs`)")
        steps = store.step_runs(record.run_id)
    finally:
        store.close()
    if fmt == "json":
        _json({"run": run_json(record), "steps": [_step_json(s) for s in steps]})
        return
    console.print(
        f"{record.kind} {record.run_id}: {_status(record)}, "
        f"started {record.started_at:%Y-%m-%d %H:%M:%S} UTC, "
        f"took {_secs(record.started_at, record.finished_at)}, trigger {record.trigger}"
        + (f" (retry of {record.parent_run_id})" if record.parent_run_id else ""),
        highlight=False,
    )
    table = Table("step", "kind", "status", "attempts", "took", "rows in", "rows out", "error")
    for s in steps:
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


def _step_json(step: StepRunRecord) -> dict[str, Any]:
    return {
        "step": step.step,
        "kind": step.kind,
        "status": step.status,
        "attempts": step.attempts,
        "started_at": step.started_at.isoformat() if step.started_at else None,
        "finished_at": step.finished_at.isoformat() if step.finished_at else None,
        "seconds": _seconds(step.started_at, step.finished_at),
        "rows_in": step.rows_in,
        "rows_out": step.rows_out,
        "error": step.error,
        "log_path": step.log_path,
    }


# A warehouse not loaded since it was made by an older Headwater has rows_in and lacks the
# newer columns (the CLI opens it read-only: it is migrated by the next run): UNION BY NAME
# supplies whichever are missing, as NULL.
_LOADS = (
    "(select * from _headwater.loads union all by name select null::bigint as rows_in, "
    "null::bigint as rows_read, null::bigint as rows_superseded, null::json as schema_changes "
    "where false)"
)
_LOAD_FIELDS = (
    "load_id, asset, run_id, coalesce(rows_read, rows_in) as rows_read, rows_written, "
    "rows_rejected, rows_superseded, loaded_at, schema_changes::varchar as schema_changes"
)
_LOAD_HEADINGS = (
    "load_id",
    "asset",
    "run",
    "rows read",
    "rows written",
    "rows rejected",
    "rows superseded",
    "loaded at (UTC)",
    "schema changes",
)


def print_loads(
    console: Console, project: Project, asset: str | None, limit: int, fmt: str = "table"
) -> None:
    """What each load brought, newest first. JSON: one object per load with the fields of
    ``_headwater.loads`` (``loaded_at`` in ISO 8601, ``schema_changes`` a list of objects)."""
    check_format(fmt, ("table", "json", "csv"))
    where, params = "", []
    if asset is not None:
        names = [
            a.name for a in project.graph if a.kind == "source" and asset in (a.name, a.short_name)
        ]
        if not names:
            raise UnknownAssetError(f"no source asset {asset!r} (see `headwater graph`)")
        where, params = "where asset = ?", [names[0]]
    sql = f"select {_LOAD_FIELDS} from {_LOADS} {where} order by loaded_at desc limit {int(limit)}"
    columns, rows = _query(project, sql, params)
    loads = [dict(zip(columns, r, strict=True)) for r in rows]
    for load in loads:
        load["schema_changes"] = json.loads(load["schema_changes"] or "[]")
    if fmt == "json":
        _json([{**ld, "loaded_at": ld["loaded_at"].isoformat()} for ld in loads])
        return
    cells = [
        (
            *(ld[c] for c in columns[:7]),
            f"{ld['loaded_at']:%Y-%m-%d %H:%M:%S}",
            "; ".join(_schema_change(c) for c in ld["schema_changes"]),
        )
        for ld in loads
    ]
    _emit(console, list(_LOAD_HEADINGS), cells, fmt)


def _schema_change(change: dict[str, Any]) -> str:
    """``column OLD -> NEW: what the contract did`` (``new`` / ``gone``: a column added /
    no longer in the source).

    >>> _schema_change({"column": "amount", "old_type": "BIGINT", "new_type": "VARCHAR",
    ...                 "action": "widened"})
    'amount BIGINT -> VARCHAR: widened'
    """
    old, new = change.get("old_type") or "new", change.get("new_type") or "gone"
    return f"{change.get('column')} {old} -> {new}: {change.get('action')}"


def print_query(console: Console, project: Project, sql: str, fmt: str) -> None:
    columns, rows = _query(project, sql)
    if columns:  # a statement that returns nothing prints nothing
        _emit(console, columns, rows, fmt)


def _query(
    project: Project, sql: str, params: list[Any] | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Columns and rows of ``sql`` on the warehouse, read-only; instants in UTC."""
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
            rel = con.execute(sql, params) if params else con.sql(sql)
            if rel is None or rel.description is None:
                return [], []
            columns = [d[0] for d in rel.description]
            rows = rel.fetchall()  # a SELECT runs here: its errors too
        except duckdb.Error as exc:
            raise EngineError(f"query failed: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    return columns, rows


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
        check_format(fmt, ("table", "csv", "json"))
