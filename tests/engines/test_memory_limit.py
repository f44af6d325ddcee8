"""`[project] memory_limit` bounds the warehouse's memory (DuckDB's memory_limit)."""

from __future__ import annotations

from pathlib import Path

from headwater.engines import open_engine
from headwater.project import load_project
from headwater.testing.cli import invoke, write_project


def test_memory_limit_reaches_the_warehouse(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {"headwater.toml": '[project]\nname = "m"\nmemory_limit = "300MB"\n'},
    )
    project = load_project(root)
    cfg = project.settings.project
    engine = open_engine(cfg.engine, project.warehouse_path, memory_limit=cfg.memory_limit)
    try:
        row = engine.cursor().execute("select current_setting('memory_limit')").fetchone()
    finally:
        engine.close()
    assert row is not None and row[0].replace(" ", "") in {"286.1MiB", "300.0MB"}


def test_a_bad_memory_limit_is_a_located_config_error(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {"headwater.toml": '[project]\nname = "m"\nthreads = 2\nmemory_limit = "lots"\n'},
    )
    result = invoke("run", "-p", str(root))
    assert result.exit_code == 2
    assert "headwater.toml:4" in result.output and "memory_limit" in result.output
