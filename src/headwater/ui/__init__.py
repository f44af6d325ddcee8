"""The web UI of ``headwater server``: server-rendered pages (Jinja2 + htmx) on the same
FastAPI app as the JSON API, sharing its :mod:`headwater.api` functions and its auth.

``server/http.py`` calls :func:`mount` once. It installs the auth refusals
(:mod:`headwater.ui.auth`), serves ``ui/static`` at ``/static`` and includes the ``router``
of every module of :mod:`headwater.ui.pages` (a new page is a new module there; nothing to
register). Layer: below ``headwater.server``, above ``headwater.api``.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent / "static"


def mount(app: Any, project: Any, server_token: str, runs: object = None) -> None:
    """Add the UI to ``app`` (a FastAPI app) serving ``project`` (a Project); requests with
    ``server_token`` as their bearer token act as admin; ``runs`` is the server's run queue."""
    from fastapi.staticfiles import StaticFiles

    from headwater.ui import auth, pages
    from headwater.ui.state import UIState

    app.state.headwater = UIState(project, server_token, runs)
    auth.install(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in sorted(pkgutil.iter_modules(pages.__path__), key=lambda m: m.name):
        loaded = importlib.import_module(f"{pages.__name__}.{module.name}")
        router = getattr(loaded, "router", None)
        if router is not None:
            app.include_router(router)
