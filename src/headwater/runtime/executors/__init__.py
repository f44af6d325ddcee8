"""Executors beyond the run's threads: ``process`` and ``dask://HOST:PORT``.

``[project] executor`` (or ``headwater run --executor``) names where the steps that can
leave the run's process go (:mod:`.placement` says which: with the embedded DuckDB
warehouse, the tasks declared ``@task(warehouse=False)``); every other step runs on the
run's threads, as with ``threads``. Such a step is still an ordinary executor step: one of
the run's threads waits for its remote attempt, so retries, timeouts, events, step logs and
the run's summary are the same, and a cancel (timeout, Ctrl-C, a cancel by request) reaches
the remote side through :meth:`Remote.cancel`. ``threads`` bounds the steps in flight,
remote ones included.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from headwater.config.settings import check_executor
from headwater.errors import ProjectError
from headwater.project.asset import Asset
from headwater.runtime.executors.call import TaskCall, task_call
from headwater.runtime.executors.placement import kind_of, taken, takes

__all__ = ["Remote", "TaskCall", "open_remote", "resolve", "takes", "task_call"]


class Remote(Protocol):
    """Where a step's attempt runs when it leaves the run's process."""

    spec: str  # the executor as configured ("process", "dask://host:8786")

    def call(self, call: TaskCall, log: logging.Logger) -> None:
        """Run ``call`` and wait for it on the calling thread; raise (a HeadwaterError, one
        line) when it failed. ``log`` is the step's log."""

    def cancel(self, thread_id: int) -> None:
        """Stop the call that ``thread_id`` waits for (best effort, never raises)."""

    def close(self) -> None:
        """Release what the executor holds (a cluster connection); the run is over."""


def resolve(override: str | None, configured: str) -> str:
    """The executor of a run: ``override`` (``--executor``) if given, else ``configured``
    (``[project] executor``, validated when the project loaded). ProjectError (exit 2) for
    an override that names no executor."""
    if override is None:
        return configured
    try:
        return check_executor(override)
    except ValueError as exc:
        raise ProjectError(f"--executor: {exc}") from None


def open_remote(spec: str, assets: Iterable[Asset]) -> Remote | None:
    """The executor ``spec`` for a run of ``assets``; None when it takes none of them (or is
    ``threads``): a Dask scheduler is connected to only by a run that sends it a step.
    Raises ConnectionError_ (exit 3, one line) when it cannot be reached."""
    if kind_of(spec) == "threads" or not taken(spec, assets):
        return None
    if kind_of(spec) == "process":
        from headwater.runtime.executors.process import ProcessExecutor

        return ProcessExecutor()
    from headwater.runtime.executors.dask_cluster import DaskExecutor

    return DaskExecutor(spec)
