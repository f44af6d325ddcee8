"""The parse cache under .headwater/cache: a second load gives the same project, and an edited
file is parsed again (the cache is keyed by content, never by name or time)."""

from __future__ import annotations

import datetime
from pathlib import Path

from headwater.project import load_project
from headwater.testing.cli import write_project

HEADER = "-- headwater:\n--   materialized: table\n--   tags: [nightly]\n"


def _settings(root: Path) -> dict[str, tuple[str, list[str], list[str]]]:
    graph = load_project(root).graph
    return {
        name: (a.model.materialized, list(a.model.tags), sorted(a.deps))
        for name in graph.order()
        if (a := graph[name]).model is not None
    }


def test_second_load_equals_first_and_edits_are_seen(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/staging/a.sql": HEADER + "select 1 as x\n",
            "models/staging/b.sql": HEADER + "select * from a\n",  # same header as a
            "models/staging/c.sql": "select * from b\n",
        },
    )
    first = _settings(root)
    assert first["staging.a"] == ("table", ["nightly"], [])
    assert first["staging.b"] == ("table", ["nightly"], ["staging.a"])
    assert first["staging.c"] == ("view", [], ["staging.b"])
    assert (root / ".headwater" / "cache" / "references.json").is_file()
    assert _settings(root) == first  # from the cache

    (root / "models/staging/b.sql").write_text(
        "-- headwater:\n--   materialized: view\n--   tags: [hourly]\nselect * from c2\n"
    )
    (root / "models/staging/c2.sql").write_text("select 2 as x\n")
    second = _settings(root)
    assert second["staging.a"] == ("table", ["nightly"], [])
    assert second["staging.b"] == ("view", ["hourly"], ["staging.c2"])


def test_header_with_values_json_cannot_hold(tmp_path: Path) -> None:
    """A YAML date is not JSON: that header is parsed every time, with the same result."""
    root = write_project(
        tmp_path / "p",
        {
            "models/m.sql": "-- headwater:\n--   checks: [{accepted_values: {column: d, "
            "values: [2026-11-20]}}]\nselect date '2026-11-20' as d\n"
        },
    )
    for _ in range(2):
        model = load_project(root).graph["main.m"].model
        assert model is not None
        values = [datetime.date(2026, 11, 20)]
        assert model.checks == [{"accepted_values": {"column": "d", "values": values}}]
