"""What happened: runs and their steps (the metastore), loads and any read-only SQL (the
warehouse). Nothing here writes the warehouse; :func:`runs` marks runs whose process died
as ``abandoned``, as every reader of the history does."""

from __future__ import annotations

import json
from typing import Any

from headwater.api.project import (
    ProjectLike,
    as_project,
    metastore,
    shared_engine,
    source_asset,
    warehouse_in_use,
)
from headwater.api.records import LoadInfo, QueryResult, RunDetail, RunInfo, StepInfo
from headwater.engines.base import STATE_SCHEMA
from headwater.errors import HeadwaterError
from headwater.project import Project


def runs(project: ProjectLike, limit: int = 20) -> list[RunInfo]:
    """The ``limit`` most recent runs, newest first (runs, retries and check runs)."""
    proj = as_project(project)
    with metastore(proj) as store:
        store.mark_abandoned()
        return [RunInfo.from_record(r) for r in store.runs(limit)]


def show(project: ProjectLike, run_id: str) -> RunDetail:
    """One run and its steps; HeadwaterError when there is no run ``run_id``."""
    proj = as_project(project)
    with metastore(proj) as store:
        record = store.get_run(run_id)
        if record is None:
            raise HeadwaterError(f"no run {run_id!r} (see `headwater runs`)")
        steps = store.step_runs(record.run_id)
    return RunDetail(RunInfo.from_record(record), [StepInfo.from_record(s) for s in steps])


def query(
    project: ProjectLike, sql: str, limit: int | None = None, params: list[Any] | None = None
) -> QueryResult:
    """Columns and rows of ``sql`` on the warehouse, opened read-only (instants in UTC);
    at most ``limit`` rows when given. A statement that returns nothing gives no columns.
    Raises HeadwaterError when there is no warehouse yet, EngineError when DuckDB rejects
    the statement, WarehouseBusy (naming the run) while a run writes the warehouse."""
    proj = as_project(project)
    shared = shared_engine(proj)
    if shared is not None:  # a server's warehouse: this thread's cursor, never busy
        return QueryResult(*shared.read_query(sql, params, limit=limit))
    location = proj.warehouse_location
    kind = proj.settings.project.engine
    from headwater.engines import capabilities_of, open_engine

    if isinstance(location, str) or not capabilities_of(kind).local_file:  # its read path
        engine = open_engine(kind, location, read_only=True, options=proj.engine_options)
        try:
            return QueryResult(*engine.read_query(sql, params, limit=limit))
        finally:
            engine.close()
    if not proj.warehouse_path.exists():
        raise HeadwaterError(f"{proj.warehouse_path}: no warehouse yet (run `headwater run` first)")
    from headwater.engines.duckdb.read import read_query

    with warehouse_in_use(proj):
        columns, rows = read_query(proj.warehouse_path, sql, params, limit=limit)
    return QueryResult(columns, rows)


def sql_string(value: str) -> str:
    """``value`` as a SQL string literal. The server's reads give names as literals, not as
    ``params``: binding a parameter makes DuckDB's Python client import numpy, pandas and
    pyarrow, ~85 MB of the server's memory for a one-row lookup."""
    return "'" + value.replace("'", "''") + "'"


# A warehouse not loaded since it was made by an older Headwater has rows_in and lacks the
# newer columns (it is opened read-only: it is migrated by the next run): UNION BY NAME
# supplies whichever are missing, as NULL.
_LOADS = (
    "(select * from _headwater.loads union all by name select null::bigint as rows_in, "
    "null::bigint as rows_read, null::bigint as rows_superseded, null::json as schema_changes "
    "where false)"
)
_LOAD_FIELDS = (
    "load_id, asset, run_id, coalesce(rows_read, rows_in) as rows_read, rows_written, "
    "rows_rejected, rows_superseded, loaded_at, schema_changes::varchar as schema_changes"
)


def loads(project: ProjectLike, asset: str | None = None, limit: int = 20) -> list[LoadInfo]:
    """What each load brought, newest first: every source's, or ``asset``'s (a source's
    full or short name, or an export's ``export.NAME``; UnknownAssetError otherwise). Raises as :func:`query`."""
    proj = as_project(project)
    where = ""
    if asset is not None:
        where = f"where asset = {sql_string(source_asset(proj, asset, loaded=True).name)}"
    relation, fields = _loads_relation(proj)
    sql = f"select {fields} from {relation} {where} order by loaded_at desc limit {int(limit)}"
    found = query(proj, sql)
    return [_load(found.columns, row) for row in found.rows]


def _loads_relation(project: Project) -> tuple[str, str]:
    """``_headwater.loads`` and its fields as :func:`loads` reads them: the table itself
    when it has every column (any engine), else the ``UNION ALL BY NAME`` supplying the
    missing ones (a DuckDB file made by an older Headwater: DuckDB's SQL only)."""
    have = query(
        project,
        "select column_name from information_schema.columns "
        "where table_schema = '_headwater' and table_name = 'loads'",
    )
    if not {"rows_read", "rows_superseded", "schema_changes"} <= {r[0] for r in have.rows}:
        return _LOADS, _LOAD_FIELDS
    fields = _LOAD_FIELDS.replace("coalesce(rows_read, rows_in)", "rows_read")
    return f"{STATE_SCHEMA}.loads", fields.replace(
        "schema_changes::varchar", "cast(schema_changes as varchar)"
    )


def _load(columns: list[str], row: tuple[Any, ...]) -> LoadInfo:
    fields = dict(zip(columns, row, strict=True))
    fields["schema_changes"] = json.loads(fields["schema_changes"] or "[]")
    return LoadInfo(**fields)
