"""`headwater trigger PIPELINE` without a server: the pipeline runs in-process now, outside
its schedule, recorded with trigger "manual"; an unknown pipeline is one line, exit 2."""

from __future__ import annotations

from pathlib import Path

from headwater import api
from headwater.metastore import Metastore
from headwater.testing.cli import invoke, write_project

TOML = '[pipelines.daily]\nselect = ["marts.a"]\nschedule = "0 6 * * *"\n'


def _project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "proj",
        {
            "headwater.toml": TOML,
            "models/marts/a.sql": "select 1 as x\n",
            "models/b.sql": "select 2 as y\n",
        },
    )


def _runs(root: Path) -> list[tuple[str, str | None, str]]:
    with Metastore.open(f"sqlite:///{root / '.headwater' / 'metastore.sqlite'}") as store:
        return [(r.trigger, r.pipeline, r.status) for r in store.runs(10)]


def test_trigger_runs_the_pipeline_here_as_a_manual_run(tmp_path: Path) -> None:
    root = _project(tmp_path)
    done = invoke("trigger", "daily", "-p", str(root))
    assert done.exit_code == 0, done.output
    assert "marts.a" in done.stdout and "b" not in done.stdout.split()  # only its selection
    assert _runs(root) == [("manual", "daily", "success")]


def test_api_trigger_returns_the_run(tmp_path: Path) -> None:
    root = _project(tmp_path)
    result = api.trigger(root, "daily")
    assert result.status == "success" and set(result.steps) == {"marts.a"}
    assert _runs(root) == [("manual", "daily", "success")]


def test_an_unknown_pipeline_is_one_line_exit_2(tmp_path: Path) -> None:
    root = _project(tmp_path)
    done = invoke("trigger", "nightly", "-p", str(root))
    assert done.exit_code == 2
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and "no pipeline 'nightly'" in lines[0] and "daily" in lines[0]
    assert not (root / ".headwater" / "metastore.sqlite").exists() or _runs(root) == []
