"""Run one source asset: read its committed state, extract what is new, load atomically."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from headwater.config.secrets import interpolate_url, redact
from headwater.config.settings import ProjectSettings
from headwater.engines.base import DatabaseScan, Engine, LoadRequest, LoadResult
from headwater.errors import SourceError
from headwater.project.asset import Asset
from headwater.sources import rest
from headwater.sources.connector import TableRead, connector_for
from headwater.sources.file_load import load_files
from headwater.sources.pools import cancel_wait, connection_slot
from headwater.sources.storage import access_for
from headwater.sources.window import minus_lag

_reading: dict[int, Any] = {}  # thread id -> the connector it is reading from
_reading_lock = threading.Lock()


def cancel_read(thread_id: int) -> None:
    """Cancel the read the source step on ``thread_id`` is doing, if its connector can (a
    timed-out step: the warehouse may be blocked waiting for the connector's next batch,
    where an engine interrupt cannot reach)."""
    cancel_wait(thread_id)  # a step still waiting for a slot of its connection
    rest.cancel(thread_id)  # a REST read stops at its next request
    with _reading_lock:
        connector = _reading.get(thread_id)
    cancel = getattr(connector, "cancel", None)
    if cancel is not None:
        cancel()


def run_source(
    asset: Asset,
    *,
    engine: Engine,
    settings: ProjectSettings,
    root: Path,
    load_id: int,
    log: logging.Logger,
    run_id: str | None = None,
    screen: Callable[[Any, str], Any] | None = None,
    audit: Callable[[Any, str], Any] | None = None,
    full_refresh: bool = False,
    interval: tuple[datetime, datetime] | None = None,
) -> LoadResult:
    """Extract and load ``asset``; its data and new state commit in one transaction.
    ``full_refresh``: read as if never loaded (no cursor, no file seen) and replace the
    table and state in that same transaction. ``interval``: the run's data interval; a
    source with ``interval_column`` then reads only its rows in it (not the cursor window,
    and its cursor state is kept as it was), a custom query binds it as parameters."""
    spec = asset.source
    assert spec is not None and asset.schema and asset.table
    state = engine.read_state(asset.name)
    if full_refresh:  # only how to read the source is kept, not what was read
        state = {k: v for k, v in state.items() if k == READ_HINTS}
    settings_ = spec.settings
    incremental = bool(spec.cursor) and spec.write != "replace"  # replace reads everything
    # an interval-bounded read is its interval, not a window after the cursor's mark
    bounded = interval is not None and spec.interval_column is not None
    # files are incremental by file (new or changed), not by cursor window
    mark = state.get("cursor") if incremental and settings_.files is None else None
    mark = None if bounded else mark
    base = LoadRequest(
        schema=asset.schema,
        table=asset.table,
        load_id=load_id,
        run_id=run_id,
        write=spec.write,  # type: ignore[arg-type]  # validated by the settings model
        primary_key=spec.primary_key,
        cursor=spec.cursor,
        contract=settings_.contract,
        advance_state=settings_.end_value is None and not bounded,
        boundary=mark,
        screen=screen,
        audit=audit,
        full_refresh=full_refresh,
    )
    if spec.settings.files is not None:
        access = access_for(settings_.files or "", settings_.connection, settings.connections)
        result = load_files(
            engine, asset.name, base, spec.settings, root=root, state=state, log=log,
            access=access,
        )  # fmt: skip
    elif settings_.kafka is not None or settings_.cdc is not None:
        from headwater.sources.streams import load_stream  # Kafka, PostgreSQL CDC

        result = load_stream(asset, base, engine=engine, settings=settings, root=root,
                             state=state, log=log)  # fmt: skip
    elif spec.settings.rest is not None:
        result = rest.load_rest(
            asset, engine=engine, settings=settings, base=base, state=state, log=log
        )
    else:
        name = settings_.connection
        assert name is not None
        limit = settings.connections[name].max_concurrent
        with connection_slot(name, limit, log):  # no more than max_concurrent extracts
            result = _load_database(
                asset, engine=engine, settings=settings, root=root, base=base, state=state,
                log=log, interval=interval,
            )  # fmt: skip
    _report(asset.name, result, log)
    return result


def _load_database(
    asset: Asset,
    *,
    engine: Engine,
    settings: ProjectSettings,
    root: Path,
    base: LoadRequest,
    state: dict[str, Any],
    log: logging.Logger,
    interval: tuple[datetime, datetime] | None = None,
) -> LoadResult:
    """Read a database source's table or query (the window after ``base.boundary``, or
    the run's ``interval``) and load it: through the warehouse's own scan when it is
    exact, else Arrow batches."""
    spec = asset.source
    assert spec is not None
    settings_ = spec.settings
    conn_name = settings_.connection
    assert conn_name is not None
    url = interpolate_url(settings.connections[conn_name].url, where=f"connection {conn_name!r}")
    log.info("connecting to %s", redact(url))
    connector = connector_for(url, root=root, name=conn_name)
    me = threading.get_ident()
    with _reading_lock:
        _reading[me] = connector
    try:
        read = _table_read(asset, settings, state, mark=base.boundary, interval=interval)
        native = None
        if read.interval_column is not None and read.interval is not None:
            # the warehouse's own scan cannot bind the interval's parameters
            log.info("reading through Arrow: the read is bounded by the run's interval")
        else:
            native = _database_scan(connector, read, engine, settings_.transport, asset, log)
        if native is not None:
            sql, scan_ = native
            request = replace(base, scan_sql=sql, database_scan=scan_, state=dict(state))
            return _load(engine, asset.name, request, connector)
        # the cursor's new value is known only after extraction: the engine computes it
        # inside the load transaction and commits it with the rows
        return _load_read(engine, asset.name, base, connector, read, state, log)
    finally:
        with _reading_lock:
            _reading.pop(me, None)
        connector.close()


def _table_read(
    asset: Asset,
    settings: ProjectSettings,
    state: dict[str, Any],
    *,
    mark: str | None,
    interval: tuple[datetime, datetime] | None = None,
) -> TableRead:
    """What to read of a database source: its table or query, the cursor window (from the
    last mark, less the lag; or the backfill window) or the run's interval (with an
    ``interval_column``), the hints the state keeps."""
    spec = asset.source
    assert spec is not None
    settings_ = spec.settings
    bounded = interval is not None and spec.interval_column is not None
    # replace reads everything; an interval-bounded read reads its interval
    incremental = bool(spec.cursor) and spec.write != "replace" and not bounded
    since = (mark if settings_.end_value is None else None) or spec.initial_value
    if since is not None and mark is not None and settings_.lag:
        since = minus_lag(since, settings_.lag)
    return TableRead(
        table=spec.table,
        query=spec.options.query if spec.options else settings_.query,
        columns=spec.options.columns if spec.options else None,
        cursor=spec.cursor,
        since=since if incremental else None,
        inclusive=True,
        until=settings_.end_value if incremental else None,
        timeout=asset.timeout if asset.timeout is not None else settings.project.timeout,
        hints=frozenset(state.get(READ_HINTS, [])),
        char_padding=(spec.options.char_padding if spec.options else None)
        or settings_.char_padding,
        interval=interval,
        interval_column=spec.interval_column,
    )


def _report(asset: str, result: LoadResult, log: logging.Logger) -> None:
    """The step log's account of a load: rejected rows, schema changes, the counts."""
    if result.rows_rejected:
        log.warning("%d rows rejected (see _headwater.rejected_rows)", result.rows_rejected)
    for change in result.schema_changes:
        log.warning("schema change: %s", change.describe(asset))
    superseded = result.rows_superseded
    log.info(
        "%d rows read, %d written%s",
        result.rows_read,
        result.rows_written,
        f", {superseded} superseded by a newer row of their key" if superseded else "",
    )


READ_HINTS = "read_hints"  # the state's list of TableRead.hints (see Connector.lesson)


def _load(engine: Engine, asset: str, request: LoadRequest, connector: Any) -> LoadResult:
    """``engine.load``; a failure the connector saw (inside the warehouse's scan, where the
    warehouse words it its own way) is raised as the connector's."""
    try:
        return engine.load(asset, request)
    except Exception:
        failure = getattr(connector, "failure", None)
        if failure is not None:
            raise failure from None
        raise


def _load_read(
    engine: Engine,
    asset: str,
    base: LoadRequest,
    connector: Any,
    read: TableRead,
    state: dict[str, Any],
    log: logging.Logger,
) -> LoadResult:
    """Load the batches of ``read``. If the failed load taught the connector a hint (it read
    optimistically and the data needs the careful way), load again with the hint, which
    the state keeps so that later loads read the careful way at once. The failed load
    rolled back whole: nothing of it stays."""

    def load(hints: frozenset[str]) -> LoadResult:
        batches = connector.read(replace(read, hints=hints))
        kept = {**state, READ_HINTS: sorted(hints)} if hints else dict(state)
        return _load(engine, asset, replace(base, batches=batches, state=kept), connector)

    try:
        return load(read.hints)
    except Exception as exc:
        lesson = getattr(connector, "lesson", lambda: None)()
        if lesson is None or lesson in read.hints:
            raise
        log.info("%s; reading again with %s (kept for the next loads)", exc, lesson)
    return load(read.hints | {lesson})


def _database_scan(
    connector: Any,
    read: TableRead,
    engine: Engine,
    transport: str,
    asset: Asset,
    log: logging.Logger,
) -> tuple[str, DatabaseScan] | None:
    """The warehouse's own reading of ``read`` (``transport`` native or auto), if exact."""
    if transport == "arrow":
        return None
    kind = connector.capabilities.name
    why = None
    if kind not in engine.capabilities.database_scan or not hasattr(connector, "native_read"):
        why = f"the warehouse cannot read {kind} itself"
    else:
        plan = connector.native_read(read)
        if isinstance(plan, str):
            why = plan
    if why is not None:
        if transport == "native":
            raise SourceError(f"{asset.name}: transport = 'native' is not possible: {why}")
        log.info("reading through Arrow: %s", why)
        return None

    def error(exc: BaseException) -> Exception:
        return connector.native_error(read, exc)

    log.info("reading natively: the warehouse reads %s.%s itself", plan.schema, plan.table)
    return plan.sql, DatabaseScan(
        kind,
        connector.address.uri,
        plan.schema,
        plan.table,
        translate_error=error,
        verify=lambda cur, table: connector.native_verify(plan, read, cur, table),
        selective=plan.selective,
    )


__all__ = ["SourceError", "cancel_read", "run_source"]
