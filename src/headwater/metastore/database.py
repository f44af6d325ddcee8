"""Opening the metastore database: an engine for a URL, its schema at the newest revision.

Contract: :func:`open_engine` creates the SQLAlchemy ``Engine`` for a URL and returns it with
the schema at :data:`HEAD_REVISION` (created, stamped or migrated as needed), together with
whether it has a single connection (an in-memory SQLite database); it raises
:class:`MetastoreError` when the database cannot be reached or was migrated by a newer
Headwater, the engine disposed. :func:`write_engine` is the engine to write through. This is the
only dialect-specific code of the metastore: the SQLite pragmas and ``BEGIN`` modes, the
PostgreSQL advisory lock around migrations, and :class:`SecondsBetween` (a duration in SQL).

On SQLite every connection gets ``journal_mode=WAL`` (readers in other processes, such as
``headwater runs`` while a run goes on, never block and are never blocked), a busy timeout
(writers in other processes wait instead of failing), ``foreign_keys=ON`` (same behaviour as
PostgreSQL), and real transactions: SQLAlchemy emits ``BEGIN`` itself, ``BEGIN IMMEDIATE`` for
writes so that two writing processes queue on the busy timeout instead of failing on a lock
upgrade.

Alembic is imported only to upgrade a database that exists at an older revision (importing
it costs about a second): an empty database gets the newest schema from ``tables.py`` and is
stamped at :data:`HEAD_REVISION`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import StaticPool

from headwater.metastore import tables as t
from headwater.metastore.errors import MetastoreError
from headwater.metastore.migrations import HEAD_REVISION, SCRIPT_LOCATION

__all__ = ["SecondsBetween", "open_engine", "write_engine"]

_BEGIN_OPTION = "headwater_sqlite_begin"
# Key of the PostgreSQL advisory lock that serialises concurrent migrations ("hwmeta" in hex).
_PG_MIGRATION_LOCK = 0x68776D657461
# Alembic keeps its running environment in module globals: one migration at a time per process.
_ALEMBIC_LOCK = threading.Lock()


def open_engine(url: str, *, busy_timeout_s: float = 30.0) -> tuple[Engine, bool]:
    """The engine for a SQLAlchemy URL, its database at :data:`HEAD_REVISION`, and whether
    it has a single connection (whose users must then take turns).

    See :meth:`Metastore.open <headwater.metastore.Metastore.open>` for the URLs accepted and
    the guarantees. Raises :class:`MetastoreError` (the engine disposed) when the database
    cannot be reached or was migrated by a newer Headwater.
    """
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    kwargs: dict[str, Any] = {}
    single_connection = False
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite:
        database = parsed.database or ""
        single_connection = database in ("", ":memory:") or (parsed.query.get("mode") == "memory")
        if single_connection:
            kwargs["poolclass"] = StaticPool
            kwargs["connect_args"] = {"check_same_thread": False}
        elif not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs["pool_pre_ping"] = True
    engine = sa.create_engine(parsed, **kwargs)
    if is_sqlite:
        _install_sqlite_pragmas(
            engine, wal=not single_connection, busy_timeout_ms=int(busy_timeout_s * 1000)
        )
    try:
        _migrate(engine, shown)
    except MetastoreError:
        engine.dispose()
        raise
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise MetastoreError(f"cannot open the metastore {shown}: {detail}") from exc
    except BaseException:
        engine.dispose()
        raise
    return engine, single_connection


def write_engine(engine: Engine) -> Engine:
    """The engine to write through: on SQLite its transactions begin with ``BEGIN IMMEDIATE``
    (given pragmas installed by :func:`open_engine`); elsewhere ``engine`` itself."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
    return engine


def _retry_locked(statement: Any, seconds: float = 10.0) -> None:
    """Switching to WAL needs a moment alone with the file and does not always wait for the
    busy timeout: several processes opening a fresh metastore at once retry briefly."""
    import sqlite3
    import time

    deadline = time.monotonic() + seconds
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _install_sqlite_pragmas(engine: Engine, *, wal: bool, busy_timeout_ms: int) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Take transaction control away from the sqlite3 module: it does not BEGIN before DDL
        # and never BEGIN IMMEDIATE. The "begin" listener below emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if wal:
                _retry_locked(lambda: cursor.execute("PRAGMA journal_mode = WAL"))
                # WAL + NORMAL: a commit survives the process dying (the case that matters
                # for run history); only an OS crash may lose the last commits. FULL made
                # every step event wait for an fsync (~8 ms each on these disks).
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _current_revisions(conn: Connection) -> set[str]:
    if not sa.inspect(conn).has_table("alembic_version"):
        return set()
    return {row[0] for row in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}


def _migrate(engine: Engine, shown_url: str) -> None:
    with engine.connect() as conn:
        current = _current_revisions(conn)
    if current == {HEAD_REVISION}:
        return
    if not current and _create_at_head(engine):
        return
    # Slow imports, paid only when the schema must change.
    from alembic import command
    from alembic.config import Config
    from alembic.util.exc import CommandError

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    with _ALEMBIC_LOCK, write_engine(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
        config.attributes["connection"] = conn
        try:
            command.upgrade(config, "head")
        except CommandError as exc:
            raise MetastoreError(
                f"cannot migrate the metastore {shown_url} (at revision "
                f"{', '.join(sorted(current)) or 'none'}) to {HEAD_REVISION}: {exc}; "
                "was it written by a newer Headwater?"
            ) from exc


def _create_at_head(engine: Engine) -> bool:
    """Create the newest schema in an empty database with plain DDL and stamp it at
    :data:`HEAD_REVISION`, as Alembic would (a test keeps the revisions and ``tables.py``
    equal): a project's first run does not pay for importing Alembic. Returns False when
    the database is not empty, which is Alembic's case."""
    with write_engine(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
        existing = set(sa.inspect(conn).get_table_names())
        if "alembic_version" in existing:  # another process created it meanwhile
            return _current_revisions(conn) == {HEAD_REVISION}
        if existing & set(t.metadata.tables):
            return False
        t.metadata.create_all(conn)
        version = sa.Table(
            "alembic_version",
            sa.MetaData(),
            sa.Column("version_num", sa.String(32), nullable=False),
            sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
        )
        version.create(conn)
        conn.execute(version.insert().values(version_num=HEAD_REVISION))
    return True


# ---- dialect-specific: seconds between two instants (the runs grid's durations) ----------
# Computing 100,000 step durations in SQL spares reading 200,000 instants into Python
# (most of a 1,000-run grid page's time); there is no portable SQL for it.


class SecondsBetween(sa.sql.functions.FunctionElement[float]):
    """``SecondsBetween(start, end)``: seconds from ``start`` to ``end`` (UTC columns),
    rounded to milliseconds, a float; NULL when either is NULL."""

    type = sa.Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(SecondsBetween, "sqlite")
def _seconds_sqlite(element: SecondsBetween, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"round((julianday({end}) - julianday({start})) * 86400.0, 3)"


@compiles(SecondsBetween, "postgresql")
def _seconds_postgresql(element: SecondsBetween, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"cast(round(extract(epoch from ({end} - {start}))::numeric, 3) as double precision)"
