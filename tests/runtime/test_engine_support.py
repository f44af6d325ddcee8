"""A project using a feature its engine lacks is refused before anything runs: one line
naming the asset, the feature, the engine and the capability, exit 2, no run recorded and
no warehouse created. The engine's capabilities are the real ones, with one flag turned
off where no shipped engine lacks it today (every engine has partitioned models and
quarantine), and Spark's own for exports (no JVM started: the refusal comes first)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from headwater.engines.duckdb import capabilities as duckdb_capabilities
from headwater.metastore import Metastore
from headwater.project import load_project
from headwater.testing.cli import CliResult, invoke, write_project

TOML = """
[sources.orders]
files = "drops/*.csv"

[[sources.orders.checks]]
type = "range"
column = "qty"
min = 1
on_fail = "quarantine"
"""
DAILY = """-- headwater:
--   materialized: table
--   partition_by: day
--   grain: day
select day::date as day, sum(qty::integer) as qty
from orders
where day::date >= getvariable('interval_start') and day::date < getvariable('interval_end')
group by all
"""
EXPORT = """
[exports.daily_files]
model = "daily"
to = "out/daily"
"""
DROP = "id,day,qty\n1,2026-01-01,2\n"


def _project(tmp_path: Path, toml: str = TOML) -> Path:
    files = {"headwater.toml": toml, "drops/1.csv": DROP, "models/daily.sql": DAILY}
    return write_project(tmp_path / "shop", files)


def _without(monkeypatch: pytest.MonkeyPatch, capability: str) -> None:
    """DuckDB's capabilities as they are, with ``capability`` False."""
    lacking = dataclasses.replace(duckdb_capabilities.CAPABILITIES, **{capability: False})
    monkeypatch.setattr(duckdb_capabilities, "CAPABILITIES", lacking)


def _assert_nothing_written(root: Path) -> None:
    project = load_project(root)
    assert not Path(project.warehouse_location).exists()
    if Path(project.state_dir / "metastore.sqlite").exists():
        with Metastore.open(project.metastore_url) as store:
            assert store.runs(10) == []


def _one_line(result: CliResult) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_a_partitioned_model_is_refused_before_any_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, toml='[sources.orders]\nfiles = "drops/*.csv"\n')
    _without(monkeypatch, "partitioned_models")
    line = _one_line(invoke("run", "-p", str(root)))
    assert line == (
        "error: models/daily.sql:1: main.daily: partitioned models are not supported by "
        "the duckdb engine (capability partitioned_models)"
    )
    _assert_nothing_written(root)


@pytest.mark.parametrize("command", ["run", "check"])
def test_a_quarantine_check_is_refused_by_run_and_check(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path)
    _without(monkeypatch, "quarantine")
    line = _one_line(invoke(command, "-p", str(root)))
    toml = (root / "headwater.toml").read_text().splitlines()
    at = toml.index("[[sources.orders.checks]]") + 1  # where the check is declared
    assert line == (
        f'error: headwater.toml:{at}: raw.orders: checks with on_fail = "quarantine" are not '
        "supported by the duckdb engine (capability quarantine)"
    )
    _assert_nothing_written(root)


def test_an_unrelated_selection_still_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan is judged, not the folder: a run of the other assets goes ahead."""
    root = _project(tmp_path, toml='[sources.orders]\nfiles = "drops/*.csv"\n')
    _without(monkeypatch, "partitioned_models")
    result = invoke("run", "-p", str(root), "-s", "orders")
    assert result.exit_code == 0, result.output


def test_spark_refuses_an_export_before_starting(tmp_path: Path) -> None:
    """Spark's real capabilities (files_out False): refused without a JVM or a warehouse."""
    toml = (
        '[project]\nname = "shop"\nengine = "spark"\n'
        + TOML.replace('on_fail = "quarantine"', 'severity = "warn"')
        + EXPORT
    )
    root = _project(tmp_path, toml=toml)
    line = _one_line(invoke("run", "-p", str(root), "-s", "export.daily_files"))
    assert line.endswith(
        "export.daily_files: exports are not supported by the spark engine (capability files_out)"
    ), line
    _assert_nothing_written(root)


def test_a_server_refuses_the_run_when_it_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a server (its HTTP API in-process): the same line, as a 400 with exit code 2,
    for a queued run and a triggered pipeline; no run is queued."""
    from fastapi.testclient import TestClient

    from headwater import api
    from headwater.server.http import create_app
    from headwater.server.process import open_stores

    toml = '[sources.orders]\nfiles = "drops/*.csv"\n\n[pipelines.daily]\nselect = ["daily"]\n'
    root = _project(tmp_path, toml=toml)
    _without(monkeypatch, "partitioned_models")
    project = api.open_project(root)
    line = (
        "models/daily.sql:1: main.daily: partitioned models are not supported by the duckdb "
        "engine (capability partitioned_models)"
    )
    with open_stores(project):
        # no run queue: a request that got past the refusal would fail with a 500
        app = create_app(project, None, "t")  # type: ignore[arg-type]
        client = TestClient(app, headers={"Authorization": "Bearer t"})
        for path, body in (
            ("/api/runs", {"select": ["daily"]}),
            ("/api/pipelines/daily/trigger", {}),
        ):
            answer = client.post(path, json=body)
            assert answer.status_code == 400, answer.text
            assert answer.json() == {"error": line, "exit_code": 2}
    assert api.runs(project) == []
