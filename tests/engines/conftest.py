"""Fixtures of the engine tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.engines.duckdb.engine import DuckDBEngine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[DuckDBEngine]:
    """A new warehouse file with the schema ``raw`` and Headwater's state tables."""
    eng = DuckDBEngine(tmp_path / "w.duckdb")
    eng.ensure_schemas({"raw"})
    yield eng
    eng.close()
