from __future__ import annotations

import pytest

from headwater.errors import SelectionError
from headwater.project import load_project, select
from headwater.project.render import render

FILES = {
    "headwater.toml": '[sources.orders]\nfiles = "o.csv"\n[sources.items]\nfiles = "i.csv"\n',
    "models/staging/stg_orders.sql": "select * from raw.orders",
    "models/staging/stg_items.sql": "select * from raw.items",
    "models/marts/fct.sql": "-- headwater:\n--   tags: [daily]\nselect * from stg_orders join stg_items using (id)",
    "models/marts/other.sql": "select * from stg_items",
}


@pytest.fixture
def graph(project_dir):
    return load_project(project_dir(FILES)).graph


def test_plain_name_and_qualified(graph):
    assert select(graph, ["fct"]) == ["marts.fct"]
    assert select(graph, ["marts.fct"]) == ["marts.fct"]


def test_upstream_and_downstream(graph):
    assert set(select(graph, ["+fct"])) == {
        "raw.orders",
        "raw.items",
        "staging.stg_orders",
        "staging.stg_items",
        "marts.fct",
    }
    assert set(select(graph, ["stg_items+"])) == {"staging.stg_items", "marts.fct", "marts.other"}
    assert set(select(graph, ["1+fct"])) == {"staging.stg_orders", "staging.stg_items", "marts.fct"}


def test_tags_globs_and_exclude(graph):
    assert select(graph, ["tag:daily"]) == ["marts.fct"]
    assert set(select(graph, ["stg_*"])) == {"staging.stg_orders", "staging.stg_items"}
    assert set(select(graph, ["marts.*"], ["other"])) == {"marts.fct"}
    assert set(select(graph, ["tag:source"])) == {"raw.orders", "raw.items"}


def test_order_is_topological(graph):
    order = select(graph, None)
    assert order.index("raw.orders") < order.index("staging.stg_orders") < order.index("marts.fct")


def test_no_match_suggests(graph):
    with pytest.raises(SelectionError, match="did you mean fct"):
        select(graph, ["fctt"])


def test_render_formats(graph):
    names = select(graph, ["+fct"])
    assert "marts.fct [view]  <- " in render(graph, names, "text")
    dot = render(graph, names, "dot")
    assert dot.startswith("digraph") and dot.count("->") == 4
    assert render(graph, names, "mermaid").count("-->") == 4
