"""The cells of finished runs, kept between two computations of the runs grid.

While a pipeline runs, every step it records changes the metastore, so a server
recomputes the grid's page over and over (the response cache serves an answer only while
nothing changed). Of a page of 100 runs, all but the running one or two are finished, and a
finished run's steps never change again: its steps are recorded before it is marked
finished (the runtime's recorder closes first, in the same order for every end), a retry is
a new run, and the only later writes to a run (a takeover marking it ``interrupted``, a
dead process's run marked ``abandoned``, retention deleting it) change or remove its own
row. So a run whose row is final and unchanged since its cells were read has the same
cells: :class:`FinishedCells` keeps them, and the grid reads only the other runs' steps.

Contract: :meth:`FinishedCells.take` returns the kept cells of those of ``runs`` whose
record (every column of ``runs``) equals the one they were kept with and is final; the
others must be read. :meth:`FinishedCells.keep` keeps a final run's cells, least recently
used dropped first beyond :data:`MAX_CELLS` cells in all. Thread-safe: a server computes
pages on several threads.

>>> import dataclasses
>>> from datetime import datetime
>>> from headwater.metastore import RunRecord
>>> run = RunRecord("r1", "p", "daily", None, "manual", None, "success",
...                 datetime(2026, 1, 1), datetime(2026, 1, 1), None, None)
>>> memo = FinishedCells()
>>> memo.keep("db", run, {"a": ("success", 1, 0.5)})
>>> memo.take("db", [run])
{'r1': {'a': ('success', 1, 0.5)}}
>>> memo.take("db", [dataclasses.replace(run, status="abandoned")])  # its row changed
{}
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence

from headwater.metastore import RunRecord

__all__ = ["FINAL", "MAX_CELLS", "FinishedCells"]

FINAL = frozenset({"success", "failed", "interrupted", "abandoned"})
"""Run statuses after which a run's steps are not written again."""

MAX_CELLS = 120_000
"""Cells kept in all: the largest page (1,000 runs of a 100-step pipeline) and a little
more; about 15 MB."""

Cells = dict[str, tuple[str, int, float | None]]


class FinishedCells:
    """Cells of final runs, per metastore (``where``: its URL) and run id."""

    def __init__(self, max_cells: int = MAX_CELLS) -> None:
        self.max_cells = max_cells
        self._runs: OrderedDict[tuple[str, str], tuple[RunRecord, Cells]] = OrderedDict()
        self._cells = 0
        self._lock = threading.Lock()

    def take(self, where: str, runs: Sequence[RunRecord]) -> dict[str, Cells]:
        """The kept cells of those of ``runs`` that are final and unchanged, by run id."""
        found: dict[str, Cells] = {}
        with self._lock:
            for run in runs:
                key = (where, run.run_id)
                kept = self._runs.get(key)
                if kept is not None and kept[0] == run and run.status in FINAL:
                    self._runs.move_to_end(key)
                    found[run.run_id] = kept[1]
        return found

    def keep(self, where: str, run: RunRecord, cells: Cells) -> None:
        """Keep ``cells`` of ``run`` if it is final (else nothing)."""
        if run.status not in FINAL or len(cells) > self.max_cells:
            return
        shared = {sys.intern(step): _shared(cell) for step, cell in cells.items()}
        with self._lock:
            old = self._runs.pop((where, run.run_id), None)
            if old is not None:
                self._cells -= len(old[1])
            self._runs[(where, run.run_id)] = (run, shared)
            self._cells += len(shared)
            while self._cells > self.max_cells:
                _, (_, dropped) = self._runs.popitem(last=False)
                self._cells -= len(dropped)

    @property
    def size(self) -> tuple[int, int]:
        """(runs, cells) kept now."""
        return len(self._runs), self._cells


def _shared(cell: tuple[str, int, float | None]) -> tuple[str, int, float | None]:
    # one string object per status, not one per cell read from the database
    status, attempts, seconds = cell
    return (sys.intern(status), attempts, seconds)
