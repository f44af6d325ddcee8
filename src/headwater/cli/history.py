"""``runs``, ``show``, ``loads`` and ``query``: print what :mod:`headwater.api` reads, or
what a live server answers (``via``: a :class:`headwater.server.client.Remote`, whose
readers return the same records)."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from headwater import api
from headwater.api.records import RunInfo
from headwater.cli.options import check_format
from headwater.project import Project


def _secs(start: datetime | None, end: datetime | None) -> str:
    return f"{(end - start).total_seconds():.2f}s" if start and end else "-"


def print_runs(
    console: Console, project: Project, limit: int, fmt: str = "table", *, via: Any = None
) -> None:
    """Recent runs, newest first: kind (run, retry, check), status, what a retry retried."""
    check_format(fmt, ("table", "json"))
    records = (via or api).runs(project, limit)
    if fmt == "json":
        _json([r.to_json() for r in records])
        return
    table = Table("run", "kind", "status", "started (UTC)", "took", "trigger", "selection")
    for r in records:
        table.add_row(
            r.run_id,
            r.kind + (f" of {r.parent_run_id}" if r.parent_run_id else ""),
            _status(r),
            f"{r.started_at:%Y-%m-%d %H:%M:%S}",
            _secs(r.started_at, r.finished_at),
            r.trigger + (f": {r.reason}" if r.reason else ""),
            r.selection or "all",
        )
    console.print(table)


def _status(record: RunInfo) -> str:
    # a check run that found a blocking failure built nothing and broke nothing: say so,
    # rather than "failed" next to the runs that build the warehouse
    return (
        "checks failed" if record.kind == "check" and record.status == "failed" else record.status
    )


def _json(document: Any) -> None:
    """One JSON document on stdout, nothing else (values JSON lacks become strings)."""
    sys.stdout.write(json.dumps(document, default=str, indent=1) + "\n")


def print_run(
    console: Console, project: Project, run_id: str, fmt: str = "table", *, via: Any = None
) -> None:
    """One run and its steps; the JSON keeps each error whole (the table shows its first
    line, cut at 120 characters)."""
    check_format(fmt, ("table", "json"))
    detail = (via or api).show(project, run_id)
    record, steps = detail.run, detail.steps
    if fmt == "json":
        _json(detail.to_json())
        return
    console.print(
        f"{record.kind} {record.run_id}: {_status(record)}, "
        f"started {record.started_at:%Y-%m-%d %H:%M:%S} UTC, "
        f"took {_secs(record.started_at, record.finished_at)}, trigger {record.trigger}"
        + (f" (retry of {record.parent_run_id})" if record.parent_run_id else "")
        + (f" ({record.reason})" if record.reason else "")
        + (f", run group {record.run_group}" if record.run_group else ""),
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
    console: Console,
    project: Project,
    asset: str | None,
    limit: int,
    fmt: str = "table",
    *,
    via: Any = None,
) -> None:
    """What each load brought, newest first. JSON: one object per load with the fields of
    ``_headwater.loads`` (``loaded_at`` in ISO 8601, ``schema_changes`` a list of objects)."""
    check_format(fmt, ("table", "json", "csv"))
    loads = (via or api).loads(project, asset, limit)
    if fmt == "json":
        _json([ld.to_json() for ld in loads])
        return
    cells = [
        (
            ld.load_id,
            ld.asset,
            ld.run_id,
            ld.rows_read,
            ld.rows_written,
            ld.rows_rejected,
            ld.rows_superseded,
            f"{ld.loaded_at:%Y-%m-%d %H:%M:%S}",
            "; ".join(_schema_change(c) for c in ld.schema_changes),
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


def print_query(console: Console, project: Project, sql: str, fmt: str, *, via: Any = None) -> None:
    found = (via or api).query(project, sql)
    columns, rows = found.columns, found.rows
    if columns:  # a statement that returns nothing prints nothing
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
        check_format(fmt, ("table", "csv", "json"))
