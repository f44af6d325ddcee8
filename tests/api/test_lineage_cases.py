"""headwater.project.lineage.column_lineage on the cases of tests/api/lineage_cases.json
(SQL in, each column's inputs out): renames, joins, aggregates, stars, CTEs, unions,
windows, quoted names, and what must stay unknown rather than be guessed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from headwater.project.lineage import column_lineage

DATA = json.loads((Path(__file__).parent / "lineage_cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", DATA["cases"], ids=[c["name"] for c in DATA["cases"]])
def test_lineage_case(case: dict[str, Any]) -> None:
    found = column_lineage(case["sql"], DATA["schemas"])
    as_data = {
        col: None if refs is None else [list(r) for r in refs] for col, refs in found.items()
    }
    assert as_data == case["expected"]
