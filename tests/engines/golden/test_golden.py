"""Every golden case on every engine (``golden_runner.GOLDEN_ENGINES``): a construct proven on
the engine's dialect answers as DuckDB does; one not proven is refused, never run."""

from __future__ import annotations

import pytest

from golden.golden_runner import (
    GOLDEN_ENGINES,
    Case,
    is_proven,
    load_cases,
    normalize,
    run_case,
    translated,
)
from headwater.engines.constructs import CONSTRUCTS
from headwater.engines.dialects import Untranslatable, render

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("engine_fixture", GOLDEN_ENGINES)
def test_the_case_answers_as_duckdb_or_is_refused(
    engine_fixture: str, case: Case, request: pytest.FixtureRequest
) -> None:
    engine = request.getfixturevalue(engine_fixture)
    dialect = engine.capabilities.dialect
    if not is_proven(case, dialect):
        with pytest.raises(Untranslatable, match=case.construct):
            run_case(engine, case)
        return
    columns, rows = run_case(engine, case)
    assert columns == case.columns, f"{case.name} on {dialect}"
    expected = [[normalize(v) for v in row] for row in case.rows]
    assert rows == expected, f"{case.name} on {dialect}"


def test_every_risky_construct_has_a_case_and_every_case_a_known_construct() -> None:
    names = {c.name for c in CONSTRUCTS}
    covered = {case.construct for case in CASES}
    assert names <= covered, f"constructs without a golden case: {sorted(names - covered)}"
    assert covered <= names | {""}, f"unknown constructs: {sorted(covered - names - {''})}"


UNPROVEN = [
    (case, dialect)
    for dialect in ("postgres", "spark")
    for case in CASES
    if case.construct and not is_proven(case, dialect)
]


@pytest.mark.parametrize(("case", "dialect"), UNPROVEN, ids=[f"{c.name}-{d}" for c, d in UNPROVEN])
def test_a_case_s_construct_is_found_in_its_query(case: Case, dialect: str) -> None:
    """Where a case's construct is not proven, it is what refuses its query (so the
    detector of the construct recognises the SQL the docs show)."""
    with pytest.raises(Untranslatable) as refused:
        render(case.query, dialect)
    assert refused.value.construct.name == case.construct
    assert translated(case, dialect)  # sqlglot itself renders it: the refusal is ours
