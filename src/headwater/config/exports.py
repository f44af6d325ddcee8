"""``[exports.NAME]``: a model written to Parquet, CSV or JSON-lines files, in a local
folder or under an ``s3://`` prefix (run by :mod:`headwater.exports`).

Each export is a step ``export.NAME`` downstream of its model. The files are published
whole: readers read the folder's manifest (``_manifest.json``), which lists the files of
the published set, never a half-written one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from headwater.config.textfile import locate_key
from headwater.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_list(value: object) -> object:
    if isinstance(value, str):
        return [value] if value else []
    return value


class ExportSettings(_Strict):
    """One export. ``to``: a folder (relative to the project, or absolute) or
    ``s3://bucket/prefix`` with ``connection`` naming an ``s3://`` connection.
    ``partition_by``: a column of the model; its values become ``column=value/`` folders.
    A run with a data interval exports only that interval of a partitioned model (its
    ``partition_by`` column within the interval) and leaves the other intervals' files as
    they were published."""

    model: str
    to: str = Field(min_length=1)
    format: Literal["parquet", "csv", "jsonl"] = "parquet"
    partition_by: str | None = None
    connection: str | None = None
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    retries: int | None = None
    retry_delay: float | None = None
    timeout: float | None = None

    _tags = field_validator("tags", mode="before")(_as_list)


def check_exports(
    exports: dict[str, ExportSettings],
    connections: dict[str, Any],
    path: Path,
    text: str,
) -> None:
    """An ``s3://`` destination needs an ``s3://`` connection; a folder takes none (one
    located line)."""
    for name, cfg in exports.items():
        conn = cfg.connection
        why = None
        if not cfg.to.startswith("s3://"):
            why = "a local folder takes no connection; remove it" if conn else None
        elif conn is None:
            why = "an s3:// destination needs connection = an s3:// [connections.x]"
        elif conn not in connections:
            why = f"connection {conn!r} is not declared in [connections]"
        elif not connections[conn].url.startswith("s3://"):
            why = f"connection {conn!r} is not an s3:// connection"
        if why is not None:
            key = "connection" if conn else "to"
            line = locate_key(text, ("exports", name, key))
            raise ConfigError(f"{path}:{line}: exports.{name}.{key}: {why}")
