"""``headwater export ...``: the project's schedules written for other tools.

``crontab`` prints crontab lines (see :mod:`headwater.scheduling.crontab`); it reads only
``headwater.toml`` (no model is parsed, no database opened).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

export_app = typer.Typer(
    name="export",
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Write the project's schedules for other tools (crontab).",
)


@export_app.command()
def crontab(
    project: Annotated[Path, typer.Option("-p", "--project", help="Project folder.")] = Path("."),
) -> None:
    """Print crontab lines running each scheduled pipeline (schedule or every)."""
    from headwater.config.settings import load_settings
    from headwater.scheduling.crontab import crontab_lines

    root = project.resolve()
    settings = load_settings(root / "headwater.toml")
    # the full path: cron's PATH rarely holds the virtualenv's bin folder
    command = shutil.which("headwater") or "headwater"
    lines = crontab_lines(root, settings.pipelines, command)
    if not lines:
        typer.echo("# no pipeline has a schedule or every in headwater.toml")
        return
    typer.echo("\n".join(lines))
