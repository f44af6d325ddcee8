"""Alembic migrations: creation, the fast path that skips Alembic, drift, PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from metastore_helpers import subprocess_env

from headwater.metastore import Metastore, MetastoreError
from headwater.metastore.migrations import HEAD_REVISION, SCRIPT_LOCATION
from headwater.metastore.tables import metadata

TABLES = {
    "runs",
    "step_runs",
    "attempts",
    "watermarks",
    "check_results",
    "intervals",
    "asset_partitions",
    "users",
    "api_tokens",
    "sessions",
    "servers",
    "alembic_version",
}


def _open_in_child(url: str) -> tuple[bool, int]:
    """Open the metastore in a fresh interpreter: (alembic imported?, number of runs)."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from headwater.metastore import Metastore\n"
            f"ms = Metastore.open({url!r})\n"
            "n = len(ms.runs())\n"
            "ms.close()\n"
            "print('alembic' in sys.modules, n)\n",
        ],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    imported, count = done.stdout.split()
    return imported == "True", int(count)


def _revision(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")]


def test_open_creates_tables_at_head(sqlite_url: str) -> None:
    with Metastore.open(sqlite_url) as ms:
        assert set(sa.inspect(ms.engine).get_table_names()) == TABLES
        assert _revision(ms.engine) == [HEAD_REVISION]


def test_opens_skip_alembic_unless_upgrading(sqlite_url: str) -> None:
    assert _open_in_child(sqlite_url) == (False, 0)  # empty: tables.py's DDL, stamped at head
    assert _open_in_child(sqlite_url) == (False, 0)  # at head: one query, no Alembic
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:  # as if written by the previous Headwater
        conn.exec_driver_sql("DROP TABLE check_results")
        conn.exec_driver_sql("DROP TABLE intervals")
        conn.exec_driver_sql("DROP TABLE asset_partitions")
        conn.exec_driver_sql("DROP TABLE sessions")
        conn.exec_driver_sql("DROP TABLE api_tokens")
        conn.exec_driver_sql("DROP TABLE users")
        conn.exec_driver_sql("DROP TABLE servers")
        conn.exec_driver_sql("DROP INDEX ix_step_runs_step_status_finished_at")
        conn.exec_driver_sql("ALTER TABLE runs DROP COLUMN claimed_by")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    engine.dispose()
    assert _open_in_child(sqlite_url) == (True, 0)  # older revision: Alembic upgrades it
    engine = sa.create_engine(sqlite_url)
    assert set(sa.inspect(engine).get_table_names()) == TABLES
    assert _revision(engine) == [HEAD_REVISION]
    engine.dispose()


def _upgrade_with_alembic(url: str) -> sa.Engine:
    """A database built by the Alembic revisions alone (not by ``Metastore.open``)."""
    from alembic import command
    from alembic.config import Config

    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return engine


def test_head_revision_constant_matches_the_scripts() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD_REVISION]


def test_migrations_match_tables_py(sqlite_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = _upgrade_with_alembic(sqlite_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        assert [r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")] == [
            HEAD_REVISION
        ]
    engine.dispose()


def test_downgrade_and_upgrade_again(sqlite_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    with Metastore.open(sqlite_url) as ms:
        config = Config()
        config.set_main_option("script_location", str(SCRIPT_LOCATION))
        with ms.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        assert set(sa.inspect(ms.engine).get_table_names()) == {"alembic_version"}
    with Metastore.open(sqlite_url) as ms:
        assert set(sa.inspect(ms.engine).get_table_names()) == TABLES


def test_database_from_a_newer_headwater_is_refused(sqlite_url: str) -> None:
    with Metastore.open(sqlite_url) as ms, ms.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(MetastoreError, match="newer Headwater"):
        Metastore.open(sqlite_url)


def test_concurrent_first_opens_in_threads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fresh.sqlite"
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def open_it() -> None:
        try:
            barrier.wait()
            Metastore.open(url).close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with Metastore.open(url) as ms:
        assert _revision(ms.engine) == [HEAD_REVISION]


def test_concurrent_first_opens_in_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fresh.sqlite"
    code = f"from headwater.metastore import Metastore\nMetastore.open({url!r}).close()\n"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code], env=subprocess_env(), stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
    with Metastore.open(url) as ms:
        assert _revision(ms.engine) == [HEAD_REVISION]


# ---------------------------------------------------------------- PostgreSQL


def test_round_trip_postgresql(postgres_url: str, round_trip: Callable[[Metastore], None]) -> None:
    with Metastore.open(postgres_url) as ms:
        assert ms.engine.dialect.name == "postgresql"
        assert set(sa.inspect(ms.engine).get_table_names()) == TABLES
        round_trip(ms)
    assert _open_in_child(postgres_url) == (False, 3)


def test_postgresql_schema_matches_tables_py(postgres_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = _upgrade_with_alembic(postgres_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    engine.dispose()
    with Metastore.open(postgres_url) as ms:  # at head already: opens without touching it
        assert _revision(ms.engine) == [HEAD_REVISION]


def test_postgresql_concurrent_first_opens_and_mark_abandoned(postgres_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_it() -> None:
        try:
            barrier.wait()
            Metastore.open(postgres_url).close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with Metastore.open(postgres_url) as ms:
        ms.start_run("pg-dead", project="p", selection=None)
        ms.start_run("pg-alive", project="p", selection=None)
        with ms.engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE runs SET pid = %(pid)s WHERE run_id = 'pg-dead'", {"pid": child.pid}
            )
        assert ms.mark_abandoned() == ["pg-dead"]
