"""Shared fixtures. Servers (PostgreSQL, MariaDB) are started on loopback by fixtures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.engines.duckdb.engine import DuckDBEngine
from headwater.testing.cli import write_project
from headwater.testing.servers import MariaDBServer, PostgresServer
from headwater.testing.servers.s3 import KEY_ID, SECRET, S3Server


@pytest.fixture
def project_dir(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Factory: write a project from a dict of files and return its folder."""

    def make(files: dict[str, str], name: str = "proj") -> Path:
        return write_project(tmp_path / name, files)

    return make


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[DuckDBEngine]:
    """A new warehouse file with the schema ``raw`` and Headwater's state tables."""
    eng = DuckDBEngine(tmp_path / "w.duckdb")
    eng.ensure_schemas({"raw"})
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """PostgreSQL on 127.0.0.1 for the whole run: .url, .host/.port/.user/.password."""
    with PostgresServer(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_logical_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """PostgreSQL with ``wal_level = logical`` (change data capture), for the whole run."""
    with PostgresServer(tmp_path_factory.mktemp("postgres_logical"), logical=True) as server:
        yield server


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBServer]:
    """MariaDB on 127.0.0.1 for the whole run: .url, .host/.port/.user/.password."""
    with MariaDBServer(tmp_path_factory.mktemp("mariadb")) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL of a fresh, empty database for this test alone."""
    return postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def postgres_logical_url(postgres_logical_server: PostgresServer) -> str:
    """URL of a fresh, empty database on the logical-replication server."""
    return postgres_logical_server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def mariadb_url(mariadb_server: MariaDBServer) -> str:
    """URL of a fresh, empty database for this test alone."""
    return mariadb_server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """One local S3 (moto's server on 127.0.0.1) for the session."""
    with S3Server() as server:
        yield server


@pytest.fixture
def bucket(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new bucket of :func:`s3`; its credentials in HW_S3_KEY / HW_S3_SECRET."""
    monkeypatch.setenv("HW_S3_KEY", KEY_ID)
    monkeypatch.setenv("HW_S3_SECRET", SECRET)
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.client().create_bucket(Bucket=name)
    return name
