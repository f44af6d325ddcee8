"""Headwater's Python API: what the ``headwater`` command does, as functions.

The CLI, a scheduler and an HTTP server all call these same functions; they print nothing
and return records (frozen dataclasses from :mod:`headwater.api.records`, each with a
``to_json()`` giving a JSON-ready value; :func:`run` and :func:`retry` return
:class:`~headwater.runtime.RunResult`, whose ``run_id`` :func:`show` reads back).
``project`` is a :class:`~headwater.project.Project` from :func:`open_project`, or its
folder (opened on each call).

::

    from headwater import api

    project = api.open_project("shop")
    result = api.run(project, select=["marts.fct_sales+"])
    for step in api.show(project, result.run_id).steps:
        print(step.step, step.status, step.rows_out)
    print(api.query(project, "select count(*) from marts.fct_sales").rows)

A long-lived process (``headwater server``) opens the warehouse once and wraps its work
in ``with shared_warehouse(project, engine):``: every call above then uses that engine
(each thread its own cursor) instead of opening the file, so a query answers while a run
writes; ``with shared_metastore(project, store):`` likewise gives every read of the run
history one open store instead of an open per call; ``run`` then also takes ``run_id`` (a run recorded ``queued``), ``cancel`` (a
``threading.Event``: stop as Ctrl-C does); any caller may give ``interval`` (the data
interval partitioned models build; :mod:`headwater.api.backfill` runs a range of them).

What each raises (every one a :class:`headwater.errors.HeadwaterError`, with its CLI exit
code; messages are one line and never hold a secret)::

    open_project, compile        ProjectError (ConfigError, SqlParseError,
                                 UnknownAssetError, CycleError); ConnectionError_ when
                                 open_project(discover=True) cannot list a database
    selection                    ProjectError (unknown pipeline), SelectionError
    trigger                      ProjectError (unknown pipeline), then as run
    run, retry                   as open_project and selection; HeadwaterError (retry: no
                                 such run), ProjectError (retry of a check run),
                                 WarehouseBusy (names the run holding the warehouse),
                                 RunInterrupted (a KeyboardInterrupt: Ctrl-C or SIGTERM
                                 stopped the run; ``run_id`` attached). Failed steps do
                                 not raise: ``RunResult.status`` is "failed".
    check                        HeadwaterError (no warehouse yet), SelectionError,
                                 EngineError
    runs, show                   HeadwaterError (show: no such run)
    prune_history                MetastoreError
    asset_detail, column_lineage UnknownAssetError, then as query
    graph_drawing                MetastoreError
    query, loads                 HeadwaterError (no warehouse yet), EngineError (the
                                 statement failed), WarehouseBusy; loads: UnknownAssetError
    quarantine, quarantined_rows,
    release, discard             UnknownAssetError (not a source), EngineError,
                                 WarehouseBusy
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.api.assets import AssetDetail, asset_detail
    from headwater.api.graph_layout import GraphDrawing, graph_drawing
    from headwater.api.history import loads, query, runs, show
    from headwater.api.lineage import ColumnInfo, column_lineage
    from headwater.api.project import (
        ProjectLike,
        Selection,
        open_project,
        selection,
        shared_metastore,
        shared_warehouse,
        source_asset,
        warehouse_in_use,
    )
    from headwater.api.quarantines import discard, quarantine, quarantined_rows, release
    from headwater.api.records import (
        CheckReport,
        CompiledModel,
        CompiledPlan,
        LoadInfo,
        QuarantineGroupInfo,
        QuarantineListing,
        QueryResult,
        RejectedInfo,
        ReleaseResult,
        RunDetail,
        RunInfo,
        StepInfo,
    )
    from headwater.api.retention import PruneReport, prune_history
    from headwater.api.running import check, compile, retry, run
    from headwater.api.triggers import trigger
    from headwater.runtime import RunResult

_WHERE = {  # each name's module, imported on first use (PEP 562)
    "AssetDetail": "headwater.api.assets",
    "ColumnInfo": "headwater.api.lineage",
    "GraphDrawing": "headwater.api.graph_layout",
    "asset_detail": "headwater.api.assets",
    "column_lineage": "headwater.api.lineage",
    "graph_drawing": "headwater.api.graph_layout",
    "CheckReport": "headwater.api.records",
    "CompiledModel": "headwater.api.records",
    "CompiledPlan": "headwater.api.records",
    "LoadInfo": "headwater.api.records",
    "ProjectLike": "headwater.api.project",
    "PruneReport": "headwater.api.retention",
    "QuarantineGroupInfo": "headwater.api.records",
    "QuarantineListing": "headwater.api.records",
    "QueryResult": "headwater.api.records",
    "RejectedInfo": "headwater.api.records",
    "ReleaseResult": "headwater.api.records",
    "RunDetail": "headwater.api.records",
    "RunInfo": "headwater.api.records",
    "RunResult": "headwater.runtime",
    "Selection": "headwater.api.project",
    "StepInfo": "headwater.api.records",
    "check": "headwater.api.running",
    "compile": "headwater.api.running",
    "discard": "headwater.api.quarantines",
    "loads": "headwater.api.history",
    "open_project": "headwater.api.project",
    "prune_history": "headwater.api.retention",
    "quarantine": "headwater.api.quarantines",
    "quarantined_rows": "headwater.api.quarantines",
    "query": "headwater.api.history",
    "release": "headwater.api.quarantines",
    "retry": "headwater.api.running",
    "run": "headwater.api.running",
    "runs": "headwater.api.history",
    "selection": "headwater.api.project",
    "shared_metastore": "headwater.api.project",
    "shared_warehouse": "headwater.api.project",
    "show": "headwater.api.history",
    "source_asset": "headwater.api.project",
    "trigger": "headwater.api.triggers",
    "warehouse_in_use": "headwater.api.project",
}

__all__ = [
    "AssetDetail",
    "CheckReport",
    "ColumnInfo",
    "CompiledModel",
    "CompiledPlan",
    "GraphDrawing",
    "LoadInfo",
    "ProjectLike",
    "PruneReport",
    "QuarantineGroupInfo",
    "QuarantineListing",
    "QueryResult",
    "RejectedInfo",
    "ReleaseResult",
    "RunDetail",
    "RunInfo",
    "RunResult",
    "Selection",
    "StepInfo",
    "asset_detail",
    "check",
    "column_lineage",
    "compile",
    "discard",
    "graph_drawing",
    "loads",
    "open_project",
    "prune_history",
    "quarantine",
    "quarantined_rows",
    "query",
    "release",
    "retry",
    "run",
    "runs",
    "selection",
    "shared_metastore",
    "shared_warehouse",
    "show",
    "source_asset",
    "trigger",
    "warehouse_in_use",
]


def __getattr__(name: str) -> Any:
    # importing headwater.api is cheap (a client of a server needs only its records):
    # SQLAlchemy, DuckDB and the runtime load when a function that needs them is first used
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
