"""Whether the process that started a run still exists: how runs are found abandoned.

Contract: ``_pid_alive(pid)`` is True when a process with this id exists on this host and is
not a zombie; False for ``None``, a pid <= 0, or a pid ``os.kill(pid, 0)`` finds gone. When in
doubt (a recycled pid, another user's process, an unreadable ``/proc``, Windows) it answers
alive, so that :meth:`Metastore.mark_abandoned <headwater.metastore.Metastore.mark_abandoned>`
never abandons a run that may still be going. Imports nothing but ``os`` and ``pathlib``.
"""

from __future__ import annotations

import os
from pathlib import Path


def _pid_alive(pid: int | None) -> bool:
    """Whether a process with this id exists on this host (a zombie counts as dead).

    A recycled pid makes a dead run look alive: the run is then left ``running`` (never wrongly
    abandoned). On Windows ``os.kill(pid, 0)`` would terminate the process, so every pid is
    reported alive there.
    """
    if pid is None or pid <= 0:  # os.kill(0 or negative, ...) addresses process groups
        return False
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except OSError:
        return False
    try:  # Linux: an exited but unreaped child still answers kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]
