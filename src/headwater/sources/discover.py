"""``headwater discover``: list the tables of wildcard sources (``tables = ["*"]``).

The project loader is pure and cannot ask a database; it reads the list this writes to
``.headwater/discovered/<source>.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from headwater.config.secrets import interpolate_url
from headwater.config.settings import ProjectSettings
from headwater.sources.connector import connector_for

CACHE = Path(".headwater") / "discovered"


def wildcard_sources(settings: ProjectSettings) -> list[str]:
    return [name for name, src in settings.sources.items() if src.tables == ["*"]]


def needs_discovery(root: Path, settings: ProjectSettings) -> list[str]:
    return [n for n in wildcard_sources(settings) if not (root / CACHE / f"{n}.json").is_file()]


def discover(
    root: Path, settings: ProjectSettings, names: list[str] | None = None
) -> dict[str, list[str]]:
    """List each wildcard source's tables and remember them; returns what was found."""
    found: dict[str, list[str]] = {}
    for name in names if names is not None else wildcard_sources(settings):
        src = settings.sources[name]
        assert src.connection is not None
        url = interpolate_url(
            settings.connections[src.connection].url, where=f"connection {src.connection!r}"
        )
        connector = connector_for(url, root=root, name=src.connection)
        try:
            lister = connector.tables  # type: ignore[attr-defined]
            tables = lister(src.db_schema) if src.db_schema else lister()
        finally:
            connector.close()
        found[name] = sorted(tables)
        (root / CACHE).mkdir(parents=True, exist_ok=True)
        (root / CACHE / f"{name}.json").write_text(
            json.dumps(found[name], indent=1), encoding="utf-8"
        )
    return found
