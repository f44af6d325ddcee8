"""Data-driven cases (``cases/*.yml``): each check against a small table with known faults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from headwater.quality import check_query, fail_predicate, parse_checks, run_checks
from headwater.quality.compile import relation_sql

CASES = Path(__file__).parent / "cases"


def _cases() -> list[Any]:
    out = []
    for path in sorted(CASES.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for index, case in enumerate(doc["cases"]):
            out.append(pytest.param(path, doc, index, case, id=f"{path.stem}-{index + 1}"))
    return out


@pytest.mark.parametrize(("path", "doc", "index", "case"), _cases())
def test_case(path: Path, doc: dict[str, Any], index: int, case: dict[str, Any], cur) -> None:
    cur.execute(doc["setup"])
    relation = case.get("relation", doc["relation"])
    (check,) = parse_checks(
        [case["check"]], path=path, text=path.read_text(), quarantine_allowed=True
    )
    (result,) = run_checks(cur, "asset", relation, [check])
    expected_status = case.get("status", "fail" if case["failing"] else "pass")
    assert (result.status, result.failing) == (expected_status, case["failing"]), result
    if "total" in case:
        assert result.total == case["total"]
    if "sample" in case:
        assert len(result.sample) == case["sample"]
    if "predicate" in case:
        assert fail_predicate(check, relation) == case["predicate"]
    if "query" in case:
        assert check_query(check, relation) == case["query"].strip()
    if check.row_level and result.status != "error":
        # the predicate used for quarantine finds exactly the rows the check counts
        rel = relation_sql(relation)
        pred = fail_predicate(check, relation)
        (count,) = cur.execute(f"select count(*) from {rel} as _hw_r where {pred}").fetchone()
        assert count == result.failing
