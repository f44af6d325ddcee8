"""The runs grid and run detail of headwater.api (api.grid, api.run_detail): a page of runs
with their steps' cells, filtered and paged; a step's whole error and its log read from an
offset; what a retry would rerun. Histories are written into the metastore directly (their
instants chosen), except where a real run's error and log are the point."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from headwater import api
from headwater.api.grid import grid, pipelines
from headwater.api.run_detail import retry_steps, run_detail, step_log
from headwater.errors import HeadwaterError
from headwater.metastore import Metastore
from headwater.metastore import tables as t
from headwater.metastore.run_grid import RunFilter

TOML = """
[pipelines.daily]
select = ["*"]

[pipelines.hourly]
select = ["marts.*"]
"""
FILES = {
    "headwater.toml": TOML,
    "models/staging/a.sql": "select 1 as x",
    "models/marts/b.sql": "select x from a",
}
DAY = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def _write(url: str, runs: list[tuple[str, str, str, datetime, dict[str, str]]]) -> None:
    """Runs (id, pipeline, status, started, {step: status}), each step 2.5 s long."""
    with Metastore.open(url) as store, store.engine.begin() as conn:
        for run_id, pipeline, status, began, steps in runs:
            conn.execute(
                t.runs.insert().values(
                    run_id=run_id, project="p", pipeline=pipeline, selection=None,
                    trigger="schedule", parent_run_id=None, status=status, started_at=began,
                    finished_at=began + timedelta(minutes=1), pid=None, hostname=None,
                    params=json.dumps({"steps": list(steps)}),
                )
            )  # fmt: skip
            for i, (step, step_status) in enumerate(steps.items()):
                at = began + timedelta(seconds=10 * i)
                conn.execute(
                    t.step_runs.insert().values(
                        run_id=run_id, step=step, kind="model", status=step_status,
                        started_at=at, attempts=2 if step_status == "failed" else 1,
                        finished_at=at + timedelta(seconds=2.5) if step_status != "running"
                        else None,
                    )
                )  # fmt: skip


@pytest.fixture
def history(project_dir) -> Path:  # type: ignore[no-untyped-def]
    root = project_dir(FILES)
    project = api.open_project(root)
    steps_ok = {"staging.a": "success", "marts.b": "success"}
    _write(
        project.metastore_url,
        [
            ("r1", "daily", "success", DAY, steps_ok),
            ("r2", "daily", "failed", DAY + timedelta(days=1),
             {"staging.a": "failed", "marts.b": "upstream_failed"}),
            ("r3", "hourly", "success", DAY + timedelta(days=2), {"marts.b": "success"}),
            ("r4", "daily", "running", DAY + timedelta(days=3),
             {"staging.a": "running"}),
        ],
    )  # fmt: skip
    return root


def test_grid_is_runs_newest_first_by_steps_in_plan_order(history: Path) -> None:
    page = grid(history)
    assert [r.run_id for r in page.runs] == ["r4", "r3", "r2", "r1"]
    assert page.steps == ["staging.a", "marts.b"]  # dependency order, as the runs planned
    assert page.cells["r2"]["staging.a"] == ("failed", 2, 2.5)
    assert page.cells["r2"]["marts.b"][0] == "upstream_failed"
    assert page.cells["r4"]["staging.a"] == ("running", 1, None)  # no duration yet
    assert "staging.a" not in page.cells["r3"]  # r3 did not have that step
    assert (page.total, page.has_more) == (4, False)
    body = json.loads(json.dumps(page.to_json()))
    assert body["steps"] == ["staging.a", "marts.b"]
    assert body["cells"][1] == [None, ["success", 1, 2.5]]  # r3: no staging.a


def test_grid_filters_and_pages(history: Path) -> None:
    assert [r.run_id for r in grid(history, status="failed").runs] == ["r2"]
    assert [r.run_id for r in grid(history, pipeline="hourly").runs] == ["r3"]
    days = grid(history, since=date(2026, 3, 2), until=date(2026, 3, 3))  # both days included
    assert [r.run_id for r in days.runs] == ["r3", "r2"]
    first = grid(history, limit=3)
    assert ([r.run_id for r in first.runs], first.has_more) == (["r4", "r3", "r2"], True)
    rest = grid(history, limit=3, offset=3)
    assert ([r.run_id for r in rest.runs], rest.has_more, rest.total) == (["r1"], False, 4)
    assert grid(history, pipeline="nope").runs == []
    assert pipelines(history) == ["daily", "hourly"]


def test_grid_refuses_bad_filters(history: Path) -> None:
    with pytest.raises(HeadwaterError, match="unknown run status 'broken'"):
        grid(history, status="broken")
    with pytest.raises(HeadwaterError, match="limit must be 1 to 1000"):
        grid(history, limit=1001)


def test_grid_reads_in_a_fixed_number_of_queries(history: Path) -> None:
    """Set-based: the page's query count does not grow with its runs."""
    project = api.open_project(history)
    extra = [
        (f"x{n:03d}", "daily", "success", DAY - timedelta(hours=n), {"staging.a": "success"})
        for n in range(1, 60)
    ]
    _write(project.metastore_url, extra)
    counted: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        counted.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    try:
        page = grid(project, limit=63)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
    assert len(page.runs) == 63
    reads = [s for s in counted if "step_runs" in s or "FROM runs" in s]
    assert len(reads) <= 4, reads  # abandoned check, page, count, cells


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_durations_computed_by_each_database(backend: str, tmp_path: Path, request) -> None:  # type: ignore[no-untyped-def]
    url = (
        f"sqlite:///{tmp_path}/m.sqlite"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_server").create_database("grid_durations")
    )
    if backend == "postgresql":
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    _write(url, [("r1", "daily", "failed", DAY, {"a": "success", "b": "running"})])
    with Metastore.open(url) as store:
        runs, total = store.grid_runs(RunFilter(pipeline="daily"), limit=10)
        cells = sorted(store.grid_cells([r.run_id for r in runs]))
    assert total == 1
    assert cells == [("r1", "a", "success", 1, 2.5), ("r1", "b", "running", 1, None)]


BROKEN = {
    "headwater.toml": '[pipelines.daily]\nselect = ["*"]\n',
    "models/staging/a.sql": "select 1 as x",
    "python/boom.py": (
        "from headwater import task\n\n"
        "@task(depends_on=['staging.a'])\n"
        "def boom(ctx):\n"
        "    ctx.log.info('line one')\n"
        "    raise ValueError('long ' + 'x' * 3000 + ' end')\n"
    ),
}


def test_run_detail_has_the_whole_error_and_the_log(project_dir) -> None:  # type: ignore[no-untyped-def]
    root = project_dir(BROKEN)
    result = api.run(root, pipeline="daily")
    assert result.status == "failed"
    clipped = {s.step: s for s in api.show(root, result.run_id).steps}
    detail = {s.step: s for s in run_detail(root, result.run_id).steps}
    (failed,) = [name for name, s in detail.items() if s.status == "failed"]
    assert len(clipped[failed].error or "") < 1100  # the metastore keeps 1 KB
    assert "x" * 3000 + " end" in (detail[failed].error or "")  # the log keeps it whole
    log = step_log(root, result.run_id, failed)
    assert log.done and log.exists and "x" * 3000 in log.text
    again = step_log(root, result.run_id, failed, offset=log.next_offset)
    assert (again.text, again.done) == ("", True)
    with pytest.raises(HeadwaterError, match="no run"):
        step_log(root, result.run_id, "staging.nope")
    assert retry_steps(root, result.run_id) == [failed]


def test_grid_reads_again_only_the_steps_of_runs_not_finished(history: Path) -> None:
    """While a pipeline runs, a server recomputes the grid after every step it records: the
    steps of finished runs are read once, and the running run's are read each time, so its
    end shows."""
    project = api.open_project(history)
    first = grid(project)  # r1-r3 finished: their cells are kept from here on
    asked: list[object] = []

    def record(conn, cursor, statement, parameters, *args) -> None:  # type: ignore[no-untyped-def]
        if "step_runs" in statement:
            asked.extend(parameters)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        again = grid(project)
        assert asked == ["r4"]  # only the running run's steps were read
        assert again.cells == first.cells
        with Metastore.open(project.metastore_url) as store:
            store.upsert_step("r4", "staging.a", kind="model", status="success", finished_at=DAY)
            store.finish_run("r4", "success")
        asked.clear()
        ended = grid(project)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    assert asked == ["r4"]  # read once more: its row changed to final
    assert ended.cells["r4"]["staging.a"][0] == "success"
    assert ended.runs[0].status == "success"
    assert ended.cells["r2"]["staging.a"] == ("failed", 2, 2.5)  # kept, unchanged
