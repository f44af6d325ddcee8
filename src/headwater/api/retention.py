"""History retention: delete the runs older than a duration, with their steps, attempts,
check results, finished scheduled intervals and log folders (``headwater history prune``;
a server does it daily with ``[project] history_days``). A run going on is never pruned.
See :mod:`headwater.metastore.retention` for exactly what goes."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from headwater.api.project import ProjectLike, as_project
from headwater.metastore import Metastore


@dataclass(frozen=True)
class PruneReport:
    """What was (``dry``: would be) deleted: the runs' ids, the intervals, the log folders."""

    cutoff: datetime
    runs: list[str]
    intervals: int
    log_folders: int
    dry: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff.isoformat(),
            "runs": len(self.runs),
            "intervals": self.intervals,
            "log_folders": self.log_folders,
            "dry": self.dry,
        }


def prune_history(
    project: ProjectLike, older_than: timedelta, *, now: datetime | None = None, dry: bool = False
) -> PruneReport:
    """Delete the history that started before ``now - older_than`` (one metastore
    transaction, then the runs' folders under ``.headwater/logs``); ``dry``: only count.
    The ledger intervals of ``catchup = "all"`` pipelines are kept (deleted, the scheduler
    would run them again)."""
    proj = as_project(project)
    cutoff = (now or datetime.now(UTC)) - older_than
    keep = tuple(n for n, p in proj.settings.pipelines.items() if p.catchup == "all")
    with Metastore.open(proj.metastore_url) as store:
        store.mark_abandoned()  # a run whose process died is over, and may go
        pruned = store.prune_history(cutoff, keep_intervals_of=keep, dry=dry)
    folders = [proj.logs_dir / run_id for run_id in pruned.runs]
    folders = [f for f in folders if f.is_dir()]
    if not dry:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
    return PruneReport(cutoff, pruned.runs, pruned.intervals, len(folders), dry)
