"""Fixtures of the metastore tests: a SQLite metastore per test and a throwaway PostgreSQL."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
if importlib.util.find_spec("headwater") is None:  # not installed: run from the checkout
    sys.path.insert(0, str(SRC))

from metastore_helpers import exercise_round_trip  # noqa: E402

from headwater.metastore import Metastore  # noqa: E402

PG_BIN = Path(os.environ.get("HEADWATER_PG_BIN", "/usr/lib/postgresql/15/bin"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/nested/.headwater/metastore.sqlite"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Metastore]:
    ms = Metastore.open(sqlite_url)
    try:
        yield ms
    finally:
        ms.close()


@pytest.fixture
def round_trip() -> Callable[[Metastore], None]:
    return exercise_round_trip


# ---------------------------------------------------------------- PostgreSQL


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL 15 server on a free loopback port; yields its admin URL (no password).

    initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` system
    user and the server runs as that user.
    """
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL binaries not found in {PG_BIN} (set HEADWATER_PG_BIN)")
    run_as: str | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run initdb as")
        run_as = "postgres"
    base = Path(tempfile.mkdtemp(prefix="headwater-pg-"))
    if run_as is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    data, log = base / "data", base / "server.log"
    port = _free_port()

    def pg(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PG_BIN / args[0]), *args[1:]],
            user=run_as,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=base,
        )

    try:
        done = pg("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")  # fmt: skip
        if done.returncode != 0:
            pytest.fail(f"initdb failed: {done.stderr}")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off"
        done = pg("pg_ctl", "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60",
                  "start")  # fmt: skip
        if done.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            pytest.fail(f"pg_ctl start failed: {done.stderr}\n{server_log}")
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            pg("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database (session time zone Asia/Tokyo, to prove UTC normalisation)."""
    pytest.importorskip("psycopg")
    import sqlalchemy as sa

    name = "hw_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
            conn.exec_driver_sql(f"ALTER DATABASE {name} SET timezone TO 'Asia/Tokyo'")
        yield postgres_server.rsplit("/", 1)[0] + "/" + name
        with admin.connect() as conn, contextlib.suppress(Exception):
            conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        admin.dispose()
