"""Headwater: one data-engineering platform, from ingestion to serving.

Importing this package is cheap and has no side effects; names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "HeadwaterError",
    "Project",
    "RunResult",
    "load_project",
    "model",
    "read",
    "run",
    "task",
]

_LAZY = {
    "HeadwaterError": "headwater.errors",
    "Project": "headwater.project",
    "load_project": "headwater.project",
    "model": "headwater.project.python_assets",
    "task": "headwater.project.python_assets",
    # through a live server when one runs (Arrow IPC), else in-process, read-only
    "read": "headwater.server.client",
    "run": "headwater.runtime",
    "RunResult": "headwater.runtime",
}

if TYPE_CHECKING:
    from headwater.errors import HeadwaterError
    from headwater.project import Project, load_project
    from headwater.project.python_assets import model, task
    from headwater.runtime.run import RunResult, run
    from headwater.server.client import read


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'headwater' has no attribute {name!r}")
