"""What the UI's routes need from the server that mounts them (:func:`state`)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from headwater.project import Project


@dataclass(frozen=True)
class UIState:
    """The server's project, the token of its ``server.json`` (acts as admin) and its run
    queue (typed ``object``: the UI sits below ``headwater.server``; pages start runs through
    the JSON API, e.g. ``POST /api/pipelines/{name}/trigger``)."""

    project: Project
    server_token: str
    runs: object = None


def state(request: Request) -> UIState:
    """The :class:`UIState` of the app serving ``request`` (set by ``headwater.ui.mount``)."""
    found: UIState = request.app.state.headwater
    return found
