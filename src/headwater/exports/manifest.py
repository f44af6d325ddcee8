"""An export's manifest: the one file readers read, naming the files of the published set.

``_manifest.json`` in the export's folder (or under its S3 prefix)::

    {"export": "orders_daily", "model": "marts.orders", "format": "parquet",
     "partition_by": "day", "published_at": "2026-12-07T05:00:00+00:00", "run_id": "...",
     "rows": 1234,
     "files": ["w1765.../day=2026-11-01/data_0.parquet", ...],
     "parts": [{"write": "w1765...", "interval": ["2026-11-01T00:00:00+00:00",
                "2026-11-02T00:00:00+00:00"], "rows": 600, "files": [...]}, ...]}

``files`` is every file of the set, relative to the folder: the whole published export.
Each write goes to a new folder ``w<load id>/`` that no manifest names until it is complete;
replacing the manifest (atomically) publishes it. ``parts`` says which write holds which
data interval (``interval`` null: every row of the model).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

MANIFEST = "_manifest.json"


def overlaps(a: list[str] | None, b: list[str] | None) -> bool:
    """Whether two parts' intervals share time (a null interval is all time).

    >>> overlaps(["2026-01-01", "2026-01-02"], ["2026-01-02", "2026-01-03"])
    False
    >>> overlaps(None, ["2026-01-02", "2026-01-03"])
    True
    """
    if a is None or b is None:
        return True
    return _instant(a[0]) < _instant(b[1]) and _instant(b[0]) < _instant(a[1])


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def kept_parts(old: dict[str, Any] | None, interval: list[str] | None) -> list[dict[str, Any]]:
    """The parts of the published manifest that a new write of ``interval`` leaves in place:
    those of other intervals (none, for a write of every row)."""
    if old is None or interval is None:
        return []
    return [p for p in old.get("parts", []) if not overlaps(p.get("interval"), interval)]


def build(head: dict[str, Any], kept: list[dict[str, Any]], part: dict[str, Any]) -> dict[str, Any]:
    """The new manifest: ``head`` (export, model, format, partition_by, run_id), the kept
    parts and the new one, ordered by interval."""
    parts = sorted([*kept, part], key=lambda p: (p.get("interval") or [""])[0])
    return {
        **head,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": sum(int(p["rows"]) for p in parts),
        "files": [f for p in parts for f in p["files"]],
        "parts": parts,
    }


def parse(text: str | None) -> dict[str, Any] | None:
    """A manifest's content (None: no manifest yet)."""
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else None


def dump(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=1) + "\n"


def writes(manifest: dict[str, Any] | None) -> set[str]:
    """The write folders a manifest references."""
    return {str(p["write"]) for p in (manifest or {}).get("parts", [])}
