"""What a ``@task`` function receives, and how it is called."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headwater.errors import HeadwaterError
from headwater.project.asset import Asset


@dataclass
class TaskContext:
    """Handed to a task: read the warehouse, write files under the project, log.
    ``engine`` is None for a task declared ``@task(warehouse=False)``."""

    asset: Asset
    engine: Any
    root: Path
    run_id: str
    log: logging.Logger

    def query(self, sql: str) -> Any:
        """A DuckDB relation over the warehouse (``.fetchall()``, ``.write_parquet(...)``).
        A task declared ``@task(warehouse=False)`` has no warehouse: HeadwaterError."""
        if self.engine is None:
            raise HeadwaterError(
                f"{self.asset.location}: task {self.asset.name} is declared "
                "warehouse=False: it cannot query the warehouse"
            )
        return self.engine.relation_of(sql)

    def path(self, relative: str) -> Path:
        """A path under the project's ``out/`` folder, created on demand."""
        target = self.root / "out" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target


def run_task(asset: Asset, *, engine: Any, root: Path, run_id: str, log: logging.Logger) -> Any:
    """Call ``asset``'s function with its context (no engine if it declared no warehouse)."""
    assert asset.function is not None
    engine = engine if asset.warehouse else None
    return asset.function(TaskContext(asset, engine, root, run_id, log))
