"""``headwater run --full-refresh``: say what will be rebuilt from scratch, and ask."""

from __future__ import annotations

from headwater.cli.options import confirm
from headwater.project import Project
from headwater.project.selection import full_refresh_targets


def confirm_full_refresh(project: Project, names: list[str], *, yes: bool) -> None:
    """Name the sources whose table and incremental state will be reset and the incremental
    models rebuilt, and go on only when confirmed (``yes``, or an answer on a terminal)."""
    sources, models = full_refresh_targets(project.graph, names)
    if not sources and not models:
        return  # nothing incremental selected: the run is an ordinary one
    parts = []
    if sources:
        parts.append(f"reload {_count(sources, 'source')} from scratch ({', '.join(sources)})")
    if models:
        parts.append(f"rebuild {_count(models, 'incremental model')} ({', '.join(models)})")
    confirm(f"full refresh: {' and '.join(parts)}?", yes=yes)


def _count(names: list[str], noun: str) -> str:
    return f"{len(names)} {noun}{'' if len(names) == 1 else 's'}"
