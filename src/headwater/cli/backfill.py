"""``headwater backfill`` and ``headwater partitions``: parse, call :mod:`headwater.api.backfill`
and :mod:`headwater.api.partitions`, print. Registered on the app by ``cli/app.py``."""

# No `from __future__ import annotations`: Typer evaluates string annotations (see app.py).

import json
from pathlib import Path
from typing import Annotated, Any

import typer

ProjectOpt = Annotated[Path, typer.Option("-p", "--project", help="Project folder.")]


def backfill(
    pipeline: Annotated[str, typer.Argument(help="A pipeline with a schedule or every.")],
    start: Annotated[str, typer.Option("--start", help="First day or instant (ISO 8601).")],
    end: Annotated[str, typer.Option("--end", help="End of the range, excluded.")],
    reprocess: Annotated[
        str,
        typer.Option(
            "--reprocess",
            help="missing: intervals never run; failed: those and the failed ones; all: every one.",
        ),
    ] = "missing",
    max_parallel: Annotated[
        int,
        typer.Option(
            "--max-parallel",
            min=1,
            help="Intervals running at once (the embedded DuckDB warehouse runs one at a time).",
        ),
    ] = 1,
    single_run: Annotated[
        bool,
        typer.Option(
            "--single-run",
            help="Build the whole range in one run (refused, exit 2, when a model cannot).",
        ),
    ] = False,
    project: ProjectOpt = Path("."),
) -> None:
    """Run PIPELINE's scheduled intervals in [--start, --end): through a live server's queue,
    or here one after another. Ctrl-C stops it; running it again resumes."""
    from headwater.api.backfill import follow_backfill, plan_backfill, run_backfill
    from headwater.cli.app import _interruptible, _load, _server

    proj = _load(project, discover=True)
    if single_run:
        _single_run(proj, project, pipeline, start, end, reprocess)
        return
    todo = plan_backfill(proj, pipeline, start, end, reprocess=reprocess)
    if not todo:
        typer.echo(f"backfill {pipeline}: nothing to run in [{start}, {end}) ({reprocess})")
        return
    remote = _server(project)
    where = "the server's queue" if remote is not None else "this process"
    typer.echo(f"backfill {pipeline}: {len(todo)} interval(s) to run, in {where}")
    if max_parallel > 1:
        typer.echo("note: the embedded DuckDB warehouse runs one interval at a time")
    failed = 0
    with _interruptible():
        outcomes = (
            follow_backfill(proj, pipeline, todo)
            if remote is not None
            else run_backfill(proj, pipeline, todo)
        )
        for done, outcome in enumerate(outcomes, 1):
            failed += outcome.status != "success"
            typer.echo(
                f"[{done}/{len(todo)}] {outcome.interval.start.isoformat()} .. "
                f"{outcome.interval.end.isoformat()}  {outcome.status}  (run {outcome.run_id})"
            )
    if failed:
        typer.echo(f"backfill {pipeline}: {failed} interval(s) failed", err=True)
        raise typer.Exit(5)


def _single_run(
    proj: Any, folder: Path, pipeline: str, start: str, end: str, reprocess: str
) -> None:
    """``--single-run``: one run over the range, on a live server (followed until it ends;
    Ctrl-C stops following, not the run) or here; exit 5 when it failed."""
    from headwater.api.backfill import plan_single_run, run_single
    from headwater.cli.app import _interruptible, _server

    remote = _server(folder)
    with _interruptible():
        if remote is not None:
            run_id, count = remote.backfill(pipeline, start, end, reprocess, single_run=True)
        else:
            plan = plan_single_run(proj, pipeline, start, end, reprocess=reprocess)
            run_id, count = (plan.run_id, len(plan.claimed)) if plan else (None, 0)
        if run_id is None:
            typer.echo(f"backfill {pipeline}: nothing to run in [{start}, {end}) ({reprocess})")
            return
        where = "the server's queue" if remote is not None else "this process"
        typer.echo(f"backfill {pipeline}: {count} interval(s) in one run {run_id}, in {where}")
        if remote is not None:
            status = _followed(remote, run_id)
        else:
            assert plan is not None
            status = run_single(proj, plan).status
    typer.echo(f"backfill {pipeline}: run {run_id} {status} ({count} interval(s))")
    if status != "success":
        raise typer.Exit(5)


def _followed(remote: Any, run_id: str, every: float = 0.2) -> str:
    """Wait for the server's run ``run_id`` to end; its final status."""
    import time

    while True:
        status = str(remote.show(None, run_id).run.status)
        if status not in ("queued", "running"):
            return status
        time.sleep(every)


def partitions(
    asset: Annotated[str, typer.Argument(help="A partitioned model.")],
    start: Annotated[str | None, typer.Option("--start", help="First day (ISO 8601).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="End of the range, excluded.")] = None,
    project: ProjectOpt = Path("."),
    format: Annotated[str, typer.Option("-f", "--format", help="table or json")] = "table",
) -> None:
    """List ASSET's grain units: built, failed or missing (never built)."""
    from headwater.api.partitions import partitions as listed
    from headwater.cli.app import _load

    found = listed(_load(project), asset, start, end)
    if format == "json":
        typer.echo(json.dumps([p.to_json() for p in found], indent=2))
        return
    rows: list[Any] = [
        (p.start.isoformat(), p.end.isoformat(), p.status, p.run_id or "") for p in found
    ]
    if not rows:
        typer.echo(f"{asset}: no partition built yet (give --start and --end to list missing)")
        return
    width = max(len(r[0]) for r in rows)
    typer.echo(f"{'start'.ljust(width)}  {'end'.ljust(width)}  {'status':8}  run")
    for row in rows:
        typer.echo(f"{row[0].ljust(width)}  {row[1].ljust(width)}  {row[2]:8}  {row[3]}")
