"""``headwater sync NAME [--dry-run | --history]``: run one sync (a run of its step, queued on
a live server and followed, else here), print what it would change, or its past syncs.
Registered by ``cli/app.py``."""

# No `from __future__ import annotations`: Typer evaluates string annotations (see app.py).

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from headwater.cli.options import check_format

ProjectOpt = Annotated[Path, typer.Option("-p", "--project", help="Project folder.")]


def sync(
    name: Annotated[str, typer.Argument(help="A [syncs.NAME] of headwater.toml.")],
    project: ProjectOpt = Path("."),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would change; change nothing.")
    ] = False,
    history: Annotated[bool, typer.Option("--history", help="Print its past syncs.")] = False,
    sample: Annotated[
        int, typer.Option("-n", "--sample", min=0, help="Rows shown per change.")
    ] = 5,
    format: Annotated[str, typer.Option("-f", "--format", help="table or json")] = "table",
) -> None:
    """Merge a model into its operational database table now (upsert by key, deletes if
    the sync says so). Exit 5 when the sync fails, 2 for an unknown sync."""
    from headwater.api.syncs import sync_asset
    from headwater.cli.app import _console, _load, _server

    check_format(format, ("table", "json"))
    proj = _load(project)
    step = sync_asset(proj, name).name  # an unknown sync: exit 2, before anything else
    remote = _server(project)
    console = _console()
    if dry_run:
        _print_plan(console, _plan(proj, step, sample, remote), format)
    elif history:
        _print_history(console, proj, step, remote, format)
    else:
        _run(console, proj, step, remote)


def _plan(proj: Any, step: str, sample: int, remote: Any) -> dict[str, Any]:
    if remote is not None:  # the server holds the warehouse
        from urllib.parse import quote

        found: dict[str, Any] = remote.get(
            f"/api/syncs/{quote(step, safe='')}/plan?sample={sample}"
        )
        return found
    from headwater.api.syncs import sync_plan

    return sync_plan(proj, step, sample=sample).to_json()


def _print_plan(console: Any, plan: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(plan, default=str, indent=1) + "\n")
        return
    console.print(
        f"sync {plan['sync']}: {plan['model']} -> {plan['table']} (connection "
        f"{plan['connection']}), dry run: nothing written"
    )
    console.print(
        f"{plan['rows']} rows compared: {plan['inserts']} to insert, {plan['updates']} to "
        f"update, {plan['deletes']} to delete"
    )
    for op, rows in plan["sample"].items():
        if rows:
            from rich.table import Table

            table = Table(title=f"{op} (first {len(rows)})", title_justify="left")
            for column in rows[0]:
                table.add_column(column)
            for row in rows:
                table.add_row(*("NULL" if v is None else str(v) for v in row.values()))
            console.print(table)


def _print_history(console: Any, proj: Any, step: str, remote: Any, fmt: str) -> None:
    from headwater.api.syncs import sync_history

    if remote is not None:
        from urllib.parse import quote

        records = remote.get(f"/api/syncs/{quote(step, safe='')}/history")
    else:
        records = [r.to_json() for r in sync_history(proj, step)]
    if fmt == "json":
        sys.stdout.write(json.dumps(records, indent=1) + "\n")
        return
    from rich.table import Table

    table = Table()
    heads = ("load_id", "run_id", "target", "rows_read", "inserted", "updated", "deleted")
    for column in (*heads, "synced_at"):
        table.add_column(column)
    for r in records:
        table.add_row(*(str(r[h]) for h in heads), str(r["synced_at"])[:19])
    console.print(table)


def _run(console: Any, proj: Any, step: str, remote: Any) -> None:
    from headwater import api
    from headwater.cli.app import _interruptible
    from headwater.runtime.display import RunDisplay, summary

    with _interruptible(), RunDisplay(console, 1) as display:
        if remote is not None:  # the server owns the warehouse: queue the run there
            from headwater.cli.remote import follow_run

            result = follow_run(remote, remote.enqueue([step], [], None, False), display)
        else:
            result = api.run(proj, [step], None, None, on_event=display, trigger="cli")
    summary(console, result)
    if result.status != "success":
        raise typer.Exit(5)
