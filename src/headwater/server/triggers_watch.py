"""The looks the server's triggers take, each a plain function: the settled files under a
glob, the upstream runs that built an asset, a SQL condition's value. They decide nothing
(what is new is :mod:`headwater.server.triggers`' business) and write nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from headwater.config.secrets import interpolate_url, redact_text
from headwater.config.triggers import ConditionTrigger, FileTrigger
from headwater.server.triggers_state import FileSig

if TYPE_CHECKING:
    from headwater.metastore import Metastore
    from headwater.metastore.records import RunRecord
    from headwater.project import Project

RECENT_RUNS = 200  # the upstream watcher reads this many of the newest runs per look
_SHOWN = 60  # characters of a value shown in a reason


def settled_files(root: Path, trigger: FileTrigger, now: float) -> dict[str, FileSig]:
    """The files under ``trigger.glob`` (relative to ``root``) unchanged for its
    ``settle_seconds`` at ``now`` (epoch seconds): path relative to ``root`` (POSIX) ->
    (size, mtime in ns). A file written to within the settle time is left for a later
    look: it may be half-written."""
    found: dict[str, FileSig] = {}
    for path in root.glob(trigger.glob):
        try:
            st = path.stat()
        except OSError:  # gone between the listing and the stat
            continue
        if not path.is_file() or now - st.st_mtime < trigger.settle_seconds:
            continue
        found[path.relative_to(root).as_posix()] = (st.st_size, st.st_mtime_ns)
    return found


@dataclass(frozen=True)
class Upstream:
    """A successful run that built watched assets."""

    run_id: str
    pipeline: str | None
    assets: tuple[str, ...]
    finished_at: datetime


def upstream_runs(
    store: Metastore,
    assets: Collection[str],
    *,
    since: datetime,
    skip: Callable[[RunRecord], bool],
    checked: set[str],
) -> tuple[list[Upstream], set[str]]:
    """The recent successful runs that finished at or after ``since`` and built one of
    ``assets`` (a step of that name succeeded), oldest first, and the ids of the recent runs
    read. ``skip(run)``: a run not to look at (seen already, or of the watching pipeline);
    ``checked``: ids of runs known to build none of ``assets``, added to here, so a run's
    steps are read once."""
    recent = store.runs(RECENT_RUNS)
    found: list[Upstream] = []
    for run in recent:
        if run.status != "success" or run.finished_at is None or run.finished_at < since:
            continue
        if run.run_id in checked or skip(run):
            continue
        built = tuple(
            s.step
            for s in store.step_runs(run.run_id)
            if s.step in assets and s.status == "success"
        )
        if not built:
            checked.add(run.run_id)
            continue
        found.append(Upstream(run.run_id, run.pipeline, built, run.finished_at))
    found.sort(key=lambda u: u.finished_at)
    return found, {r.run_id for r in recent}


def condition_value(project: Project, condition: ConditionTrigger) -> str:
    """The first column of the first row ``condition.sql`` returns on its connection, as
    JSON text (``null`` for no row or SQL NULL). A failure raises HeadwaterError (or what
    the connector raises) whose text never holds the connection's secrets."""
    from headwater.errors import HeadwaterError
    from headwater.sources.connector import TableRead, connector_for

    settings = project.settings.connections[condition.connection]
    where = f"connection {condition.connection!r}"
    url = interpolate_url(settings.url, where=where)
    try:
        connector = connector_for(url, root=project.root, name=condition.connection)
        try:
            reader = connector.read(TableRead(table=None, query=condition.sql, batch_size=1))
            value = _first_value(reader)
        finally:
            connector.close()
    except Exception as exc:
        text = redact_text(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise HeadwaterError(f"{where}: {text}") from None
    return json.dumps(value, default=str, sort_keys=True)


def _first_value(reader: object) -> object:
    for batch in reader:  # type: ignore[attr-defined]
        if batch.num_rows and batch.num_columns:
            return batch.column(0)[0].as_py()
    return None


def shown(value: str | None) -> str:
    """A condition value (JSON text) as a reason shows it, cut at 60 characters."""
    if value is None:
        return "nothing"
    return value if len(value) <= _SHOWN else value[: _SHOWN - 3] + "..."


def files_reason(files: Iterable[str], limit: int = 3) -> str:
    """``a.csv, b.csv, c.csv (+2 more)``."""
    names = sorted(files)
    more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def upstream_reason(found: Iterable[Upstream]) -> str:
    """``staging.orders_clean by run R (pipeline p)``, one per upstream run."""
    return "; ".join(
        f"{', '.join(u.assets)} by run {u.run_id}"
        + (f" (pipeline {u.pipeline})" if u.pipeline else "")
        for u in found
    )
