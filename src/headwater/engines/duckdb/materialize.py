"""Build a model's table or view from its SELECT, atomically.

- ``view``: ``create or replace view``.
- ``table``: ``create or replace table ... as`` inside a transaction: readers see the old
  table until the new one commits, never a half-built one.
- ``incremental``: the first build creates the table; later builds merge the SELECT's rows
  on ``unique_key`` (delete + insert in one transaction), or, with ``time_column``, replace
  the window newer than ``max(time_column) - lookback``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import duckdb

from headwater.engines.duckdb.sql import ident, qualified, same_keys
from headwater.errors import EngineError


def materialize(
    cur: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    sql: str,
    *,
    materialized: str,
    unique_key: list[str],
    time_column: str | None,
    lookback: str | None,
    audit: Callable[[duckdb.DuckDBPyConnection, str], object] | None = None,
) -> int | None:
    """Build ``schema.table``; ``audit(cursor, target)`` runs before the commit and may raise
    to keep the previous version (write, audit, publish)."""
    target = qualified(schema, table)
    build = functools.partial(
        _build,
        cur,
        schema,
        table,
        target,
        sql,
        materialized,
        unique_key,
        time_column,
        lookback,
        audit,
    )
    try:
        return build(replace_other=False)
    except duckdb.CatalogException as exc:
        if "Existing object" not in str(exc):
            raise
        # a view became a table (or back): drop the old kind, in the same transaction
        return build(replace_other=True)


def _build(
    cur: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    target: str,
    sql: str,
    materialized: str,
    unique_key: list[str],
    time_column: str | None,
    lookback: str | None,
    audit: Callable[[duckdb.DuckDBPyConnection, str], object] | None,
    *,
    replace_other: bool,
) -> int | None:
    # One statement is its own transaction in DuckDB, already atomic: a lone CREATE OR
    # REPLACE needs no begin/commit (two round trips per model). An audit, an incremental
    # merge or a change of kind needs several statements to commit together.
    several = audit is not None or replace_other or materialized == "incremental"
    if several:
        cur.execute("begin transaction")
    try:
        # The catalog lookup costs milliseconds per call once there are many relations, so
        # the common case (same kind as last time) goes without it; see materialize().
        existing = (
            _kind(cur, schema, table) if replace_other or materialized == "incremental" else None
        )
        if materialized == "view":
            if existing == "BASE TABLE":
                cur.execute(f"drop table {target}")
            cur.execute(f"create or replace view {target} as {sql}")
            count = None
        elif materialized == "table" or existing != "BASE TABLE":
            if existing == "VIEW":
                cur.execute(f"drop view {target}")
            # CREATE TABLE AS answers with the number of rows it wrote: no second scan
            created = cur.execute(f"create or replace table {target} as {sql}").fetchone()
            count = int(created[0]) if created else _count(cur, target)
        else:
            count = _incremental(cur, target, sql, unique_key, time_column, lookback)
        if audit is not None:
            audit(cur, target)
        if several:
            cur.execute("commit")
    except BaseException:
        if several:
            cur.execute("rollback")
        raise
    finally:
        if materialized == "incremental":
            cur.execute("drop table if exists _hw_increment")
    return count


def _incremental(
    cur: duckdb.DuckDBPyConnection,
    target: str,
    sql: str,
    unique_key: list[str],
    time_column: str | None,
    lookback: str | None,
) -> int:
    if time_column:
        col = ident(time_column)
        window = f" - interval '{lookback}'" if lookback else ""
        since = f"(select max({col}){window} from {target})"
        cur.execute(
            f"create temp table _hw_increment as select * from ({sql}) where {col} > {since}"
        )
        if unique_key:
            _delete_keys(cur, target, unique_key)
        else:
            cur.execute(f"delete from {target} where {col} > {since}")
    elif unique_key:
        cur.execute(f"create temp table _hw_increment as {sql}")
        _delete_keys(cur, target, unique_key)
    else:
        raise EngineError(f"{target}: incremental needs unique_key or time_column")
    cur.execute(f"insert into {target} by name select * from _hw_increment")
    return _count(cur, target)


def _delete_keys(cur: duckdb.DuckDBPyConnection, target: str, keys: list[str]) -> None:
    join = same_keys(keys, "t", "n")
    cur.execute(f"delete from {target} t where exists (select 1 from _hw_increment n where {join})")


def _kind(cur: duckdb.DuckDBPyConnection, schema: str, table: str) -> str | None:
    row = cur.execute(
        "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return row[0] if row else None


def _count(cur: duckdb.DuckDBPyConnection, target: str) -> int:
    row = cur.execute(f"select count(*) from {target}").fetchone()
    return int(row[0]) if row else 0
