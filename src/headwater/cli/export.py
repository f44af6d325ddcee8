"""``headwater export ...``: the project's schedules written for other tools.

``crontab`` prints crontab lines (see :mod:`headwater.scheduling.crontab`); it reads only
``headwater.toml`` (no model is parsed, no database opened). ``airflow`` writes an Airflow 3
DAG file of one pipeline (see :mod:`headwater.scheduling.airflow`); it loads the project to
know the pipeline's steps and what each reads.
"""

# No `from __future__ import annotations`: Typer evaluates string annotations (see app.py).

import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

export_app = typer.Typer(
    name="export",
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Write the project's schedules for other tools (crontab, Airflow).",
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


@export_app.command()
def airflow(
    pipeline: Annotated[str, typer.Argument(help="A pipeline of headwater.toml.")],
    project: Annotated[Path, typer.Option("-p", "--project", help="Project folder.")] = Path("."),
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the DAG file here (not stdout).")
    ] = None,
) -> None:
    """Write an Airflow 3 DAG file running PIPELINE: one task per step, same schedule."""
    from headwater import api
    from headwater.scheduling.airflow import airflow_dag

    root = project.resolve()
    proj = api.open_project(root, discover=True)  # wildcard sources: their tables are steps
    chosen = api.selection(proj, None, None, pipeline)  # ProjectError: no such pipeline
    names = set(chosen.names)
    _refuse_local_grains(proj, pipeline, chosen.names)
    steps = [(n, [d for d in proj.graph[n].deps if d in names]) for n in chosen.names]
    text = airflow_dag(
        project=proj.name,
        pipeline=pipeline,
        settings=proj.settings.pipelines[pipeline],
        root=root,
        steps=steps,
        command=_headwater(),
        source=str(root / "headwater.toml"),
    )
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        from headwater.errors import HeadwaterError

        raise HeadwaterError(f"{output}: {exc.strerror}") from None
    typer.echo(f"wrote {output} ({len(steps)} tasks)", err=True)


def _headwater() -> str:
    """The full path of the ``headwater`` command: Airflow's and cron's PATH rarely hold
    the virtualenv's bin folder (the one beside this interpreter when PATH has none)."""
    beside = Path(sys.executable).with_name("headwater")
    return shutil.which("headwater") or (str(beside) if beside.exists() else "headwater")


def _refuse_local_grains(proj: Any, pipeline: str, names: list[str]) -> None:
    """ProjectError when a partitioned model of a pipeline whose ``timezone`` is not UTC is
    among ``names``: each task runs ``headwater run -s STEP`` without the pipeline, which
    counts grain units in UTC, so the model would refuse every local-time interval."""
    from headwater.errors import ProjectError
    from headwater.models.partitions import check_partitioning

    tz = proj.settings.pipelines[pipeline].timezone
    if tz == "UTC":
        return
    for name in names:
        found = check_partitioning(proj.graph[name])
        if found is not None:
            raise ProjectError(
                f"pipeline {pipeline}: model {name} is partitioned by {found[1]} and the "
                f"pipeline's timezone is {tz}; the exported DAG's step runs count grain "
                'units in UTC: export a pipeline with timezone = "UTC" for it'
            )
