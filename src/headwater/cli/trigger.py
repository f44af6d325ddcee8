"""``headwater trigger PIPELINE``: parse, call :func:`headwater.api.trigger` (or queue the run
on a live server and follow it), print as ``headwater run`` does. Registered by ``cli/app.py``."""

# No `from __future__ import annotations`: Typer evaluates string annotations (see app.py).

from pathlib import Path
from typing import Annotated

import typer

ProjectOpt = Annotated[Path, typer.Option("-p", "--project", help="Project folder.")]


def trigger(
    pipeline: Annotated[str, typer.Argument(help="A pipeline of headwater.toml.")],
    project: ProjectOpt = Path("."),
    threads: Annotated[int | None, typer.Option("-t", "--threads", min=1)] = None,
) -> None:
    """Run PIPELINE now, outside its schedule (recorded with trigger "manual"): queued on a
    live server and followed, or run here. Exit 5 when the run fails."""
    from headwater import api
    from headwater.cli.app import _console, _interruptible, _load, _server
    from headwater.runtime.display import RunDisplay, summary

    proj = _load(project, discover=True)
    steps = api.selection(proj, None, None, pipeline).names  # an unknown pipeline: exit 2
    console = _console()
    remote = _server(project)
    with _interruptible(), RunDisplay(console, len(steps)) as display:
        if remote is not None:  # the server owns the warehouse: queue the run there
            from headwater.cli.remote import follow_run

            result = follow_run(remote, remote.trigger(pipeline), display)
        else:
            result = api.trigger(proj, pipeline, threads=threads, on_event=display)
    summary(console, result)
    if result.status != "success":
        raise typer.Exit(5)
