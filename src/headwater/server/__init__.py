"""``headwater server``: the long-lived process that owns a project's warehouse, runs its
queue and its schedules, and answers the HTTP API (:mod:`headwater.server.http`).

Only :func:`serve` and the client (:mod:`headwater.server.client`, which the CLI uses to go
through a live server) are public. FastAPI and uvicorn are imported by :func:`serve` alone:
every other command pays nothing for them.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["serve"]


def serve(project_dir: Path, *, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the server of the project in ``project_dir`` until SIGTERM or SIGINT (see
    :mod:`headwater.server.process`)."""
    from headwater.server.process import serve as run_server

    run_server(project_dir, host=host, port=port)
