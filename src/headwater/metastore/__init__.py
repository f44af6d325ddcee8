"""Run history and watermark copies: the metastore (SQLite by default, PostgreSQL ready).

::

    from headwater.metastore import Metastore

    with Metastore.open("sqlite:////abs/project/.headwater/metastore.sqlite") as store:
        store.start_run(run_id, project="shop", selection="+fct_sales")
        store.upsert_step(run_id, "raw.orders", kind="source", status="running",
                          started_at=datetime.now(UTC))
        ...
        store.finish_run(run_id, "success")

Importing this package is cheap: the records and errors are plain Python, and
:class:`Metastore` (which needs SQLAlchemy) is loaded on first access. Alembic is imported only
when a database must be migrated. See ``README.md`` in this folder for the invariants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.metastore.errors import AmbiguousRunIdError, MetastoreError
from headwater.metastore.records import (
    INTERVAL_STATUSES,
    RUN_STATUSES,
    STEP_KINDS,
    STEP_STATUSES,
    AttemptRecord,
    IntervalRecord,
    RunRecord,
    StepRunRecord,
    WatermarkRecord,
)

if TYPE_CHECKING:
    from headwater.metastore.store import ABANDONED_ERROR, Metastore

__all__ = [
    "ABANDONED_ERROR",
    "INTERVAL_STATUSES",
    "RUN_STATUSES",
    "STEP_KINDS",
    "STEP_STATUSES",
    "AmbiguousRunIdError",
    "AttemptRecord",
    "IntervalRecord",
    "Metastore",
    "MetastoreError",
    "RunRecord",
    "StepRunRecord",
    "WatermarkRecord",
]

_LAZY = frozenset({"Metastore", "ABANDONED_ERROR"})


def __getattr__(name: str) -> object:
    # PEP 562: load SQLAlchemy only when the Metastore itself is needed.
    if name in _LAZY:
        from headwater.metastore import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
