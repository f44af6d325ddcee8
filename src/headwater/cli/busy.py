"""Name the run that holds the warehouse when a command cannot open it.

DuckDB lets one process write a database file, or several read it, never both: while a run
holds the warehouse, ``headwater query``, ``loads`` or a second ``run`` cannot open it. The
engine raises :class:`~headwater.errors.WarehouseBusy` with the holder's PID (DuckDB names
it); the metastore records each running run's PID, so the user reads which run holds the
warehouse, in one line, and the command exits 4 (an engine error).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from headwater.errors import WarehouseBusy

if TYPE_CHECKING:  # the CLI imports this module at start: the project package loads later
    from headwater.project import Project


@contextlib.contextmanager
def warehouse_in_use(project: Project) -> Iterator[None]:
    """Re-raise a :class:`WarehouseBusy` of the body naming the run that holds the warehouse
    (``run X (PID n)``), or the process when no running run has that PID."""
    try:
        yield
    except WarehouseBusy as exc:
        holder = _holder(project, exc.pid)
        message = f"{exc.path}: the warehouse is in use by {holder}; try again when it is done"
        raise WarehouseBusy(message, path=exc.path, pid=exc.pid) from None


def _holder(project: Project, pid: int | None) -> str:
    """``run X (PID n)``, ``another process (PID n)`` or ``another process``."""
    if pid is None:
        return "another process"
    from headwater.metastore import Metastore

    run_id = None
    # best effort: the message stands without the run's id (no metastore, a locked one)
    with contextlib.suppress(Exception):
        with Metastore.open(project.metastore_url, busy_timeout_s=2.0) as store:
            running = [r for r in store.runs(100) if r.status == "running" and r.pid == pid]
        run_id = running[0].run_id if running else None
    return f"run {run_id} (PID {pid})" if run_id else f"another process (PID {pid})"
