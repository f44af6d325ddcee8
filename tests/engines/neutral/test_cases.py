"""Materializations, write dispositions, cursor loads, checks and quarantine: each case of
cases.py run by ``headwater run`` (in-process) on DuckDB, PostgreSQL and Spark (local, and through
a Spark Connect server), with the same expected rows on each.

The cases an engine can do run together in one project per engine (batch.py), built once
for the module. A case an engine lacks a capability for is refused before anything runs, in
one line naming the capability (runtime/engine_support.py): the test asserts that refusal
until the engine declares the capability, and the case's rows from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from headwater import api
from headwater.errors import ProjectError
from headwater.testing.engines import EngineProject

from .batch import Outcome, run_batch
from .cases import CASES, Case
from .conftest import lacking, matrix, project_for

Batch = tuple[EngineProject, dict[str, Outcome]]

# the first Spark test runs the batch, after the JVM's start: ~10 s idle, minutes loaded
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def batches(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Batch]:
    """Engine name -> its project of every case it can do, run on first use (once: a
    batch that raised raises again for each of its cases, it is not run twice)."""
    done: dict[str, Batch | BaseException] = {}

    def batch(name: str) -> Batch:
        if name not in done:
            project = project_for(request, name, tmp_path_factory.mktemp(f"batch-{name}"))
            able = [case for case in CASES if not lacking(name, case.needs)]
            try:
                done[name] = (project, run_batch(project, able))
            except BaseException as exc:
                done[name] = exc
                raise
        found = done[name]
        if isinstance(found, BaseException):
            raise RuntimeError(f"the {name} batch failed: {found!r}")
        return found

    return batch


@pytest.mark.parametrize("engine, case", matrix(CASES))
def test_case(
    engine: str,
    case: Case,
    batches: Callable[[str], Batch],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    missing = lacking(engine, case.needs)
    if missing:  # refused up front, not by the engine midway through a run
        project = project_for(request, engine, tmp_path / engine)
        with pytest.raises(ProjectError, match=rf"\(capability ({'|'.join(missing)})\)$"):
            run_batch(project, [case])
        assert api.runs(project.root) == []  # no run was recorded
        return
    project, outcomes = batches(engine)
    outcome = outcomes[case.name]
    *earlier, last = zip(outcome.statuses, outcome.errors, strict=True)
    for statuses, errors in earlier:
        assert set(statuses.values()) == {"success"}, errors
    statuses, errors = last
    expected = case.last_statuses()
    if expected:
        assert {step: statuses.get(step) for step in expected} == expected, errors
    else:
        assert set(statuses.values()) == {"success"}, errors
    for sql, rows in case.queries().items():
        assert project.rows(sql) == sorted(rows, key=repr), sql
