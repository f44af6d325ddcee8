"""``.headwater/server.json``: how a live server of a project is found.

The file holds ``{url, pid, token, started_at}``. It is created with mode 0600 in one
``os.open`` (the token is a secret: no instant exists where another user could read it) and
removed when the server stops. A file whose PID is no longer alive is stale (a server
killed with SIGKILL leaves one): :func:`live_server` ignores it and the next server
replaces it. Imports nothing heavy: the CLI reads it on every command.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

FILE_NAME = "server.json"


@dataclass(frozen=True)
class ServerInfo:
    """A running server: its base ``url`` (``http://127.0.0.1:PORT``), ``pid``, bearer
    ``token`` and ``started_at`` (ISO 8601 UTC)."""

    url: str
    pid: int
    token: str
    started_at: str


def server_file(state_dir: Path) -> Path:
    """Where the server of the project whose state folder is ``state_dir`` writes itself."""
    return state_dir / FILE_NAME


def write_info(path: Path, info: ServerInfo) -> None:
    """Write ``info`` to ``path`` with mode 0600 from the first byte (replacing a stale
    file: its server is gone)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(info), out)


def read_info(path: Path) -> ServerInfo | None:
    """The server described by ``path``; None when there is no file or it is unreadable
    (half written, or not ours)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ServerInfo(
            str(data["url"]), int(data["pid"]), str(data["token"]), str(data["started_at"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_info(path: Path, pid: int) -> None:
    """Remove ``path`` if it still describes process ``pid`` (never another server's)."""
    info = read_info(path)
    if info is not None and info.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a zombie counts as dead: a killed server
    not reaped yet), as the metastore judges a run's process."""
    from headwater.metastore.processes import _pid_alive

    return _pid_alive(pid)


def live_server(state_dir: Path) -> ServerInfo | None:
    """The server of this project whose process is alive; None when there is none (no
    file, or a stale one)."""
    info = read_info(server_file(state_dir))
    if info is None or not pid_alive(info.pid):
        return None
    return info
