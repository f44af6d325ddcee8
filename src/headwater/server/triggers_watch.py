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


class RecentRuns:
    """The run history as the ``on_assets`` watchers see it: the newest runs, read once
    per look for all of them, and the steps each successful run built, read once per run
    (kept while the run is among the newest)."""

    def __init__(self) -> None:
        self.runs: list[RunRecord] = []
        self.ids: set[str] = set()
        self._built: dict[str, frozenset[str]] = {}
        self._signature: tuple[tuple[str, str], ...] = ()

    def read(self, store: Metastore) -> bool:
        """Read the newest runs; False when none started or ended since the last read
        (nothing new can be found then)."""
        self.runs = store.runs(RECENT_RUNS)
        signature = tuple((r.run_id, r.status) for r in self.runs)
        changed, self._signature = signature != self._signature, signature
        self.ids = {r.run_id for r in self.runs}
        self._built = {k: v for k, v in self._built.items() if k in self.ids}
        return changed

    def forget(self) -> None:
        """Look at every run again on the next read (after a restart of the watchers)."""
        self._signature = ()

    def built(self, store: Metastore, run_id: str) -> frozenset[str]:
        """The steps run ``run_id`` built (they succeeded)."""
        if run_id not in self._built:
            steps = store.step_runs(run_id)
            self._built[run_id] = frozenset(s.step for s in steps if s.status == "success")
        return self._built[run_id]


def upstream_runs(
    store: Metastore,
    recent: RecentRuns,
    assets: Collection[str],
    *,
    since: datetime,
    skip: Callable[[RunRecord], bool],
) -> list[Upstream]:
    """Among ``recent`` (read), the successful runs that finished at or after ``since``
    and built one of ``assets``, oldest first. ``skip(run)``: a run not to look at (seen
    already, or of the watching pipeline)."""
    found: list[Upstream] = []
    for run in recent.runs:
        if run.status != "success" or run.finished_at is None or run.finished_at < since:
            continue
        if skip(run):
            continue
        built = tuple(sorted(recent.built(store, run.run_id) & set(assets)))
        if built:
            found.append(Upstream(run.run_id, run.pipeline, built, run.finished_at))
    found.sort(key=lambda u: u.finished_at)
    return found


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
