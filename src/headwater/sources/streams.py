"""The source step of stream sources: a Kafka topic (:mod:`headwater.sources.kafka`) or a
PostgreSQL table's changes (:mod:`headwater.sources.cdc`). Each reads a bounded batch and
loads it with its position (offsets, LSN) in the same warehouse transaction."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from headwater.config.settings import ProjectSettings
from headwater.engines.base import Engine, LoadRequest, LoadResult
from headwater.project.asset import Asset


def load_stream(
    asset: Asset,
    base: LoadRequest,
    *,
    engine: Engine,
    settings: ProjectSettings,
    root: Path,
    state: dict[str, Any],
    log: logging.Logger,
) -> LoadResult:
    """Load the next batch of the stream source ``asset`` (state: its committed position)."""
    spec = asset.source
    assert spec is not None and spec.settings.connection is not None
    connection = spec.settings.connection
    if spec.settings.kafka is not None:
        from headwater.sources.kafka import load_kafka

        return load_kafka(
            asset.name, base, engine=engine, settings=settings, source=spec.source,
            connection=connection, kafka=spec.settings.kafka, root=root, state=state, log=log,
        )  # fmt: skip
    from headwater.sources.cdc import load_cdc

    assert spec.settings.cdc is not None and spec.table is not None
    return load_cdc(
        asset.name, base, engine=engine, settings=settings, connection=connection,
        table=spec.table, cdc=spec.settings.cdc, several=len(spec.settings.tables) > 1,
        state=state, log=log,
    )  # fmt: skip
