"""headwater.testing.servers: real PostgreSQL and MariaDB on loopback.

These never skip: scripts/install-system-deps.sh installs MariaDB (the Makefile runs
it before the tests) and the PostgreSQL server binaries come with the machine.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
import pymysql
import pytest
import sqlalchemy

from headwater.testing.servers import (
    MariaDBServer,
    PostgresServer,
    free_port,
    mariadb_available,
    postgres_available,
)

# --- fixtures (module-local: these tests kill and restart their servers) -------------


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    with PostgresServer(tmp_path_factory.mktemp("pg")) as server:
        yield server


@pytest.fixture(scope="module")
def maria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBServer]:
    with MariaDBServer(tmp_path_factory.mktemp("maria")) as server:
        yield server


def mysql_connect(url: str, **overrides: Any) -> pymysql.connections.Connection[Any]:
    parts = urlsplit(url)
    assert parts.scheme == "mysql"
    kwargs: dict[str, Any] = {
        "host": parts.hostname,
        "port": parts.port,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "database": parts.path.lstrip("/"),
        "connect_timeout": 5,
        "autocommit": True,
    }
    kwargs.update(overrides)
    return pymysql.connect(**kwargs)


def process_uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid in /proc/{pid}/status")


def is_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def test_binaries_are_installed() -> None:
    assert postgres_available(), "PostgreSQL 15 server binaries missing"
    assert mariadb_available(), "MariaDB missing: run scripts/install-system-deps.sh as root"


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


# --- PostgreSQL -------------------------------------------------------------------------


def test_postgres_url_and_attributes(pg: PostgresServer) -> None:
    assert pg.url == f"postgresql://headwater:headwater-secret@127.0.0.1:{pg.port}/headwater"
    assert (pg.host, pg.user, pg.password, pg.database) == (
        "127.0.0.1",
        "headwater",
        "headwater-secret",
        "headwater",
    )
    assert pg.sqlalchemy_url == pg.url.replace("postgresql://", "postgresql+psycopg://")
    assert pg.running
    assert pg.log_path.is_file()
    assert pg.log_path.parent == pg.base_dir


def test_postgres_roundtrip_over_tcp_with_password(pg: PostgresServer) -> None:
    with psycopg.connect(pg.url, connect_timeout=5) as conn:
        conn.execute("CREATE TABLE roundtrip (id int PRIMARY KEY, name text)")
        conn.execute("INSERT INTO roundtrip VALUES (1, 'one'), (2, 'two')")
        conn.commit()
        rows = conn.execute("SELECT id, name FROM roundtrip ORDER BY id").fetchall()
        assert rows == [(1, "one"), (2, "two")]
        # Over TCP (not the unix socket), authenticated with scram.
        assert conn.execute("SELECT inet_server_addr()::text").fetchone() == ("127.0.0.1/32",)
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("SHOW password_encryption").fetchone() == ("scram-sha-256",)


def test_postgres_sqlalchemy_url_works(pg: PostgresServer) -> None:
    engine = sqlalchemy.create_engine(pg.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_postgres_wrong_password_is_refused(pg: PostgresServer) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host=pg.host,
            port=pg.port,
            user=pg.user,
            password="wrong",
            dbname=pg.database,
            connect_timeout=5,
        )


def test_postgres_runs_unprivileged(pg: PostgresServer) -> None:
    assert pg.pid is not None
    if os.geteuid() == 0:
        assert process_uid(pg.pid) != 0


def test_postgres_create_database(pg: PostgresServer) -> None:
    url = pg.create_database("analytics")
    assert url == pg.url_for("analytics")
    assert pg.create_database("analytics") == url  # idempotent
    with psycopg.connect(url, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("analytics",)


def test_postgres_survives_sigkill(pg: PostgresServer) -> None:
    with psycopg.connect(pg.url, connect_timeout=5) as conn:
        conn.execute("CREATE TABLE durable (n int)")
        conn.execute("INSERT INTO durable SELECT generate_series(1, 1000)")
        conn.commit()
        old_pid, url = pg.pid, pg.url
        assert old_pid is not None

        pg.kill()
        assert not pg.running
        assert is_gone(old_pid)
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    pg.kill()  # idempotent
    pg.stop()  # idempotent

    pg.start()
    assert pg.url == url and pg.pid != old_pid
    with psycopg.connect(pg.url, connect_timeout=5) as conn:
        assert conn.execute("SELECT count(*), sum(n) FROM durable").fetchone() == (1000, 500500)


def test_postgres_restart_keeps_data(pg: PostgresServer) -> None:
    with psycopg.connect(pg.url, connect_timeout=5) as conn:
        conn.execute("CREATE TABLE across_restart (v text)")
        conn.execute("INSERT INTO across_restart VALUES ('kept')")
        conn.commit()
    pg.restart()
    with psycopg.connect(pg.url, connect_timeout=5) as conn:
        assert conn.execute("SELECT v FROM across_restart").fetchall() == [("kept",)]


def test_postgres_start_failure_reports_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = PostgresServer(tmp_path / "pg", port=port)
        with pytest.raises(RuntimeError, match="Address already in use"):
            server.start()
        assert not server.running
    server.stop()


def test_postgres_auto_port_moves_when_taken(tmp_path: Path) -> None:
    server = PostgresServer(tmp_path / "pg")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", server.port))
        taken.listen()
        with server:
            assert server.port != taken.getsockname()[1]
            with psycopg.connect(server.url, connect_timeout=5) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
    assert not server.running


def test_postgres_base_dir_below_a_root_only_directory(tmp_path: Path) -> None:
    # pytest's /tmp/pytest-of-root is 0700 and every new pytest session sets it so again.
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with PostgresServer(private / "pg") as server:
        os.chmod(private, 0o700)
        server.kill()
        server.start()
        with psycopg.connect(server.url, connect_timeout=5) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert private.stat().st_mode & 0o777 == 0o700


# --- MariaDB ----------------------------------------------------------------------------


def test_mariadb_url_and_attributes(maria: MariaDBServer) -> None:
    assert maria.url == f"mysql://headwater:headwater-secret@127.0.0.1:{maria.port}/headwater"
    assert (maria.host, maria.user, maria.password, maria.database) == (
        "127.0.0.1",
        "headwater",
        "headwater-secret",
        "headwater",
    )
    assert maria.sqlalchemy_url == maria.url.replace("mysql://", "mysql+pymysql://")
    assert maria.running
    assert maria.log_path.is_file()


def test_mariadb_roundtrip_over_tcp_with_password(maria: MariaDBServer) -> None:
    conn = mysql_connect(maria.url)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE roundtrip (id INT PRIMARY KEY, name VARCHAR(20))")
            cur.execute("INSERT INTO roundtrip VALUES (1, 'one'), (2, 'two')")
            cur.execute("SELECT id, name FROM roundtrip ORDER BY id")
            assert cur.fetchall() == ((1, "one"), (2, "two"))
            cur.execute("SELECT @@bind_address, @@skip_networking, CURRENT_USER()")
            assert cur.fetchone() == ("127.0.0.1", 0, "headwater@%")
            cur.execute("SELECT @@version")
            row = cur.fetchone()
            assert row is not None and "MariaDB" in row[0]
    finally:
        conn.close()


def test_mariadb_sqlalchemy_url_works(maria: MariaDBServer) -> None:
    engine = sqlalchemy.create_engine(maria.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_mariadb_wrong_password_is_refused(maria: MariaDBServer) -> None:
    with pytest.raises(pymysql.err.OperationalError) as info:
        mysql_connect(maria.url, password="wrong")
    assert info.value.args[0] == 1045  # ER_ACCESS_DENIED_ERROR


def test_mariadb_root_is_not_reachable_over_tcp(maria: MariaDBServer) -> None:
    with pytest.raises(pymysql.err.OperationalError):
        mysql_connect(maria.url, user="root", password="")


def test_mariadb_runs_unprivileged(maria: MariaDBServer) -> None:
    assert maria.pid is not None
    if os.geteuid() == 0:
        assert process_uid(maria.pid) != 0


def test_mariadb_create_database(maria: MariaDBServer) -> None:
    url = maria.create_database("analytics")
    assert url == maria.url_for("analytics")
    assert maria.create_database("analytics") == url  # idempotent
    conn = mysql_connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT DATABASE()")
            assert cur.fetchone() == ("analytics",)
    finally:
        conn.close()


def test_mariadb_survives_sigkill(maria: MariaDBServer) -> None:
    conn = mysql_connect(maria.url)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE durable (n INT) ENGINE=InnoDB")
        cur.execute("INSERT INTO durable VALUES " + ",".join(f"({i})" for i in range(1, 1001)))
    old_pid, url = maria.pid, maria.url
    assert old_pid is not None

    maria.kill()
    assert not maria.running
    assert is_gone(old_pid)
    with pytest.raises(pymysql.err.OperationalError), conn.cursor() as cur:
        cur.execute("SELECT 1")
    maria.kill()  # idempotent
    maria.stop()  # idempotent

    maria.start()
    assert maria.url == url and maria.pid != old_pid
    conn = mysql_connect(maria.url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*), SUM(n) FROM durable")
            assert cur.fetchone() == (1000, 500500)
    finally:
        conn.close()


def test_mariadb_restart_keeps_data(maria: MariaDBServer) -> None:
    conn = mysql_connect(maria.url)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE across_restart (v VARCHAR(10))")
        cur.execute("INSERT INTO across_restart VALUES ('kept')")
    conn.close()
    maria.restart()
    conn = mysql_connect(maria.url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT v FROM across_restart")
            assert cur.fetchall() == (("kept",),)
    finally:
        conn.close()


def test_mariadb_start_failure_reports_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = MariaDBServer(tmp_path / "maria", port=port)
        with pytest.raises(RuntimeError, match="Address already in use"):
            server.start()
        assert not server.running
    server.stop()


def test_mariadb_login_works_as_soon_as_a_crashed_server_is_back(tmp_path: Path) -> None:
    """The user made at first start survives a SIGKILL right after it: a client retrying
    after a crash logs in as soon as the server accepts connections (before start() sets the
    user up again), instead of getting 'access denied', which is not retried."""
    import time

    server = MariaDBServer(tmp_path / "my")
    server.start()
    try:
        server.kill()
        # bring mariadbd back by hand, without start()'s set-up step
        server._prepare_dirs()
        server._remove_stale_files()
        server._launch()
        server._wait_ready(time.monotonic() + 60)
        mysql_connect(server.url).close()
    finally:
        server.stop()
