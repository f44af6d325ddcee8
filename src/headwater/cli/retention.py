"""``headwater history prune``: delete old run history (:func:`headwater.api.prune_history`).

Without ``--yes`` it deletes nothing and says what would go; it works on the metastore
directly, with or without a live server (a running run is never pruned)."""

# No `from __future__ import annotations`: Typer evaluates string annotations (see app.py).

from pathlib import Path
from typing import Annotated

import typer

from headwater.errors import HeadwaterError

history_app = typer.Typer(
    name="history",
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Run history housekeeping (prune).",
)


@history_app.command()
def prune(
    older_than: Annotated[
        str, typer.Option("--older-than", help='Age of the runs to delete: "90d", "12h".')
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Delete (without it: only show).")] = False,
    project: Annotated[Path, typer.Option("-p", "--project", help="Project folder.")] = Path("."),
) -> None:
    """Delete the runs started longer ago than --older-than (not a running one), with their
    steps, attempts, check results, finished scheduled intervals and log folders."""
    from headwater import api
    from headwater.config.schedule import parse_every

    try:
        age = parse_every(older_than)
    except ValueError as exc:
        raise HeadwaterError(f"--older-than: {exc}") from None
    report = api.prune_history(api.open_project(project), age, dry=not yes)
    what = (
        f"{len(report.runs)} runs, {report.intervals} scheduled intervals and "
        f"{report.log_folders} log folders started before {report.cutoff:%Y-%m-%d %H:%M} UTC"
    )
    if yes:
        typer.echo(f"deleted {what}")
    else:
        typer.echo(f"would delete {what}; pass --yes to delete them")
