"""Column-level lineage (headwater.api.lineage) of the project in tests/api/lineage_project
(a renamed column, `select *`, a join, an aggregate, a table function) equals
tests/api/lineage_expected.json; what sqlglot cannot trace is unknown, never a guess."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from headwater import api
from headwater.api.lineage import ColumnInfo, column_lineage, warehouse_columns
from headwater.errors import UnknownAssetError

HERE = Path(__file__).parent


def _pairs(columns: list[ColumnInfo]) -> dict[str, Any]:
    return {
        c.column: None if c.inputs is None else [[i.table, i.column] for i in c.inputs]
        for c in columns
    }


@pytest.fixture
def built(tmp_path: Path) -> Path:
    root = shutil.copytree(HERE / "lineage_project", tmp_path / "lineage")
    assert api.run(api.open_project(root)).status == "success"
    return root


def test_lineage_of_each_asset_equals_the_expected_file(built: Path) -> None:
    expected = json.loads((HERE / "lineage_expected.json").read_text(encoding="utf-8"))
    expected.pop("_about")
    project = api.open_project(built)
    columns = warehouse_columns(project)
    found = {name: _pairs(column_lineage(project, name, columns=columns)) for name in expected}
    assert found == expected
    # column order is the warehouse's, and the JSON form carries the asset of each input
    assert list(found["staging.stg_orders"]) == ["order_id", "customer_name", "amount"]
    (revenue,) = [c for c in column_lineage(project, "revenue_by_country") if c.column == "revenue"]
    assert revenue.to_json()["inputs"] == [
        {"asset": "marts.customer_orders", "table": "marts.customer_orders", "column": "amount"}
    ]


def test_a_model_not_built_yet_has_the_columns_its_sql_names(tmp_path: Path) -> None:
    root = shutil.copytree(HERE / "lineage_project", tmp_path / "lineage")
    api.run(api.open_project(root), select=["raw.orders"])
    found = column_lineage(root, "stg_orders")
    assert [(c.column, c.type) for c in found] == [
        ("order_id", None), ("customer_name", None), ("amount", None),
    ]  # fmt: skip
    assert _pairs(found)["order_id"] == [["raw.orders", "id"]]
    # its downstream reads a model with no schema yet: `c.name` cannot be placed, unknown
    assert _pairs(column_lineage(root, "customer_orders"))["name"] is None


def test_an_unknown_asset_is_one_error(built: Path) -> None:
    with pytest.raises(UnknownAssetError, match="no asset 'nope'"):
        column_lineage(built, "nope")
