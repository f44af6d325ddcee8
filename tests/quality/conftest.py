"""Fixtures of the data-quality tests: a DuckDB warehouse file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from headwater.engines.duckdb.engine import DuckDBEngine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine(tmp_path / "w.duckdb")
    yield eng
    eng.close()


@pytest.fixture
def cur(engine: DuckDBEngine) -> duckdb.DuckDBPyConnection:
    return engine.cursor()
