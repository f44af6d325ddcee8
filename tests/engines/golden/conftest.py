"""The engines the golden cases run on. An engine plugs in by adding a fixture here that
yields an open :class:`~headwater.engines.Engine` (session-scoped when it is slow to start:
the runner replaces the setup tables of each case) and its name to
``golden_runner.GOLDEN_ENGINES``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.engines import Engine, open_engine


@pytest.fixture
def duckdb_golden(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine("duckdb", tmp_path / "warehouse.duckdb")
    yield engine
    engine.close()


@pytest.fixture
def postgres_golden(postgres_url: str) -> Iterator[Engine]:
    """PostgreSQL: a fresh database of the session's server (tests/conftest.py)."""
    engine = open_engine("postgres", postgres_url)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def spark_golden(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """Spark local[2] with its Hive catalog: one JVM for the whole test run (it takes ~10 s
    to start; later engines in this process reuse its session)."""
    root = tmp_path_factory.mktemp("spark")
    engine = open_engine("spark", root / "spark-warehouse", options={"master": "local[2]"})
    yield engine
    engine.close()
