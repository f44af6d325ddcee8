"""Fixtures of the data-quality tests: a DuckDB warehouse file per test."""

from __future__ import annotations

import duckdb
import pytest

from headwater.engines.duckdb.engine import DuckDBEngine


@pytest.fixture
def cur(engine: DuckDBEngine) -> duckdb.DuckDBPyConnection:
    return engine.cursor()
