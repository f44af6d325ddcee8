"""Build a model's table or view from its SELECT, in one transaction.

- ``view``: ``create or replace view``; a view whose columns changed is dropped (with the
  views built on it, ``cascade``: their models rebuild them later in the run) and created.
- ``table``: when the table exists with the SELECT's columns, its rows are deleted and the
  new ones inserted: readers never wait (MVCC) and see the old rows until the commit.
  Otherwise (first build, columns changed, a view before) it is dropped and created, in the
  same transaction (PostgreSQL's DDL is transactional).
- ``incremental``: the first build creates the table; later builds delete the increment's
  keys (``unique_key``) or the window newer than ``max(time_column) - lookback`` and insert
  the increment.

A SELECT with a correlated subquery is built with it as a join (:mod:`.decorrelate`).
Each build plans without nested loops, and a table's statistics are refreshed before its
checks and its commit (:mod:`.planning`).
"""

from __future__ import annotations

from collections.abc import Callable

from headwater.engines.postgres.connection import PgCursor
from headwater.engines.postgres.decorrelate import decorrelated
from headwater.engines.postgres.planning import analyze
from headwater.engines.postgres.project_sql import ProjectCursor
from headwater.engines.postgres.sql import column_list, ident, qualified, same_keys
from headwater.errors import EngineError

Audit = Callable[[ProjectCursor, str], object] | None
_STAGE = "_hw_build"
_INCREMENT = "_hw_increment"


def materialize(
    cur: PgCursor,
    schema: str,
    table: str,
    sql: str,
    *,
    materialized: str,
    unique_key: list[str],
    time_column: str | None,
    lookback: str | None,
    audit: Audit = None,
) -> int | None:
    """Build ``schema.table`` from ``sql``; ``audit(cursor, target)`` runs before the commit
    and may raise to keep the previous version."""
    target = qualified(schema, table)
    sql = decorrelated(cur, sql)  # PostgreSQL would run a correlated subquery per row
    with cur.transaction():
        kind = kind_of(cur, schema, table)
        if materialized == "view":
            _view(cur, target, sql, kind)
            count = None
        else:
            cur.execute(f"drop table if exists {_STAGE}")
            cur.execute(f"create temp table {_STAGE} as {sql}")
            if materialized == "incremental" and kind == "BASE TABLE":
                count = _incremental(cur, target, unique_key, time_column, lookback)
            else:
                count = _replace(cur, schema, table, kind)
            cur.execute(f"drop table {_STAGE}")
            analyze(cur, target)
        if audit is not None:
            audit(ProjectCursor(cur), target)
    return count


def materialize_from(
    cur: PgCursor,
    schema: str,
    table: str,
    staged: str,
    *,
    materialized: str,
    unique_key: list[str],
    audit: Audit = None,
) -> int | None:
    """As :func:`materialize`, from the rows of the temp table ``staged`` (its ``_hw_seq``
    left out)."""
    cols = [c for c in temp_columns(cur, staged) if c != "_hw_seq"]
    sql = f"select {column_list(cols)} from {staged}"
    return materialize(
        cur, schema, table, sql, materialized=materialized, unique_key=unique_key,
        time_column=None, lookback=None, audit=audit,
    )  # fmt: skip


def _view(cur: PgCursor, target: str, sql: str, kind: str | None) -> None:
    """``create or replace view``, which keeps the views built on this one; when the
    columns changed (it refuses then), drop and create: the views on it are dropped too
    (``cascade``) until their own models rebuild them, later in the run."""
    import psycopg

    if kind == "VIEW":
        try:
            with cur.transaction():  # a savepoint: the refusal must not abort the build
                cur.execute(f"create or replace view {target} as {sql}")
            return
        except psycopg.errors.InvalidTableDefinition:
            pass
    if kind is not None:
        cur.execute(f"drop {'view' if kind == 'VIEW' else 'table'} {target} cascade")
    cur.execute(f"create view {target} as {sql}")


def _replace(cur: PgCursor, schema: str, table: str, kind: str | None) -> int:
    """The table's rows replaced in place when its columns are unchanged (readers never
    wait; the views on it stay), else dropped (with the views on it, rebuilt later in the
    run) and created."""
    target = qualified(schema, table)
    staged = _typed(cur, _STAGE)
    if kind == "BASE TABLE" and _typed(cur, qualified(schema, table)) == staged:
        cur.execute(f"delete from {target}")
    else:
        if kind is not None:
            cur.execute(f"drop {'view' if kind == 'VIEW' else 'table'} {target} cascade")
        cur.execute(f"create table {target} as select * from {_STAGE} limit 0")
    names = column_list([name for name, _ in staged])
    return cur.execute(f"insert into {target} ({names}) select {names} from {_STAGE}").rowcount


def _incremental(
    cur: PgCursor,
    target: str,
    unique_key: list[str],
    time_column: str | None,
    lookback: str | None,
) -> int:
    if time_column:
        col = ident(time_column)
        window = f" - interval '{lookback}'" if lookback else ""
        since = f"(select max({col}){window} from {target})"
        cur.execute(
            f"create temp table {_INCREMENT} as select * from {_STAGE} where {col} > {since}"
        )
        if unique_key:
            _delete_keys(cur, target, unique_key)
        else:
            cur.execute(f"delete from {target} where {col} > {since}")
    elif unique_key:
        cur.execute(f"create temp table {_INCREMENT} as select * from {_STAGE}")
        _delete_keys(cur, target, unique_key)
    else:
        raise EngineError(f"{target}: incremental needs unique_key or time_column")
    names = column_list(temp_columns(cur, _INCREMENT))
    cur.execute(f"insert into {target} ({names}) select {names} from {_INCREMENT}")
    cur.execute(f"drop table {_INCREMENT}")
    row = cur.execute(f"select count(*) from {target}").fetchone()
    return int(row[0]) if row else 0


def _delete_keys(cur: PgCursor, target: str, keys: list[str]) -> None:
    join = same_keys(keys, "t", "n")
    cur.execute(f"delete from {target} t where exists (select 1 from {_INCREMENT} n where {join})")


def kind_of(cur: PgCursor, schema: str, table: str) -> str | None:
    """``BASE TABLE``, ``VIEW`` or None."""
    row = cur.execute(
        "select table_type from information_schema.tables where table_schema = ? "
        "and table_name = ?",
        [schema, table],
    ).fetchone()
    return str(row[0]) if row else None


def temp_columns(cur: PgCursor, relation: str) -> list[str]:
    """The columns of a relation, in order (a temp table's too)."""
    return [name for name, _ in _typed(cur, relation)]


def _typed(cur: PgCursor, relation: str) -> list[tuple[str, str]]:
    rows = cur.execute(
        "select attname, format_type(atttypid, atttypmod) from pg_attribute "
        "where attrelid = ?::regclass and attnum > 0 and not attisdropped order by attnum",
        [relation],
    ).fetchall()
    return [(str(n), str(t)) for n, t in rows]
