"""Manual triggers: :func:`trigger` runs a pipeline of ``headwater.toml`` now, outside its
schedule, recorded with trigger ``manual`` (``headwater trigger PIPELINE``; a server's
``POST /api/pipelines/{name}/trigger`` queues the same run, checked by :func:`pipeline_of`)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from headwater.api.project import ProjectLike, as_project
from headwater.api.running import EventHandler, run
from headwater.config.settings import PipelineSettings
from headwater.errors import ProjectError
from headwater.project import Project

if TYPE_CHECKING:
    from headwater.runtime import RunResult

MANUAL = "manual"  # the trigger recorded with a run asked for by a person or a program


def pipeline_of(project: Project, name: str) -> PipelineSettings:
    """The settings of pipeline ``name``; ProjectError (one line, exit 2) naming the
    pipelines there are when headwater.toml has no such pipeline."""
    pipes = project.settings.pipelines
    if name not in pipes:
        have = ", ".join(sorted(pipes)) or "none"
        raise ProjectError(f"no pipeline {name!r} in headwater.toml (have: {have})")
    return pipes[name]


def trigger(
    project: ProjectLike,
    pipeline: str,
    *,
    threads: int | None = None,
    on_event: EventHandler | None = None,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Run ``pipeline`` now, in this process, as ``headwater run --pipeline`` does, recorded
    with trigger ``manual`` and no data interval. Raises ProjectError for an unknown
    pipeline before anything runs, and as :func:`headwater.api.run` otherwise."""
    proj = as_project(project, discover=True)
    pipeline_of(proj, pipeline)
    return run(
        proj, pipeline=pipeline, threads=threads, on_event=on_event, trigger=MANUAL, cancel=cancel
    )


__all__ = ["MANUAL", "pipeline_of", "trigger"]
