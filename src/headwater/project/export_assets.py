"""The graph's export steps: one ``export.NAME`` per ``[exports.NAME]``, downstream of its
model (the model's name is resolved with every other reference: ``orders`` or
``marts.orders``)."""

from __future__ import annotations

from pathlib import Path

from headwater.config.settings import ProjectSettings
from headwater.config.textfile import locate_key
from headwater.project.asset import Asset


def export_assets(settings: ProjectSettings, toml_path: Path, text: str) -> list[Asset]:
    """An asset of kind ``export`` for each export, reading its model."""
    return [
        Asset(
            name=f"export.{name}",
            kind="export",
            schema=None,
            table=None,
            path=toml_path,
            line=locate_key(text, ("exports", name)),
            deps=(cfg.model,),
            tags=(*cfg.tags, "export"),
            description=cfg.description,
            export=cfg,
            retries=cfg.retries,
            retry_delay=cfg.retry_delay,
            timeout=cfg.timeout,
        )
        for name, cfg in settings.exports.items()
    ]
