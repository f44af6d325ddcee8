"""What a ``@task`` function receives, and how it is called."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headwater.project.asset import Asset


@dataclass
class TaskContext:
    """Handed to a task: read the warehouse, write files under the project, log."""

    asset: Asset
    engine: Any
    root: Path
    run_id: str
    log: logging.Logger

    def query(self, sql: str) -> Any:
        """A DuckDB relation over the warehouse (``.fetchall()``, ``.write_parquet(...)``)."""
        return self.engine.cursor().sql(sql)

    def path(self, relative: str) -> Path:
        """A path under the project's ``out/`` folder, created on demand."""
        target = self.root / "out" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target


def run_task(asset: Asset, *, engine: Any, root: Path, run_id: str, log: logging.Logger) -> Any:
    assert asset.function is not None
    return asset.function(TaskContext(asset, engine, root, run_id, log))
