"""A Python model's mistakes are one line naming its file and line (console, run.log,
metastore); what it raised keeps its whole traceback in the step's own log."""

from __future__ import annotations

from pathlib import Path

from headwater.metastore import Metastore
from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import invoke, write_project

MODELS = """\
import json

from headwater import model


def parse(text):
    return json.loads(text)


@model(materialized="table")
def counted():
    return 42


@model(materialized="table")
def mapping():
    return {"a": [1, 2]}


@model(materialized="table")
def broken():
    settings = parse("{not json")
    return settings
"""
ACCEPTED = "return a pyarrow.Table or RecordBatchReader, a pandas or polars DataFrame, or a DuckDB relation"


def _project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "p", {"python/models.py": MODELS})


def test_a_model_returning_a_non_table_is_named_with_what_it_returned(tmp_path: Path) -> None:
    root = _project(tmp_path)
    result = run(load_project(root), include=["counted", "mapping"])
    where = root / "python/models.py"
    assert result.steps["marts.counted"].error == (
        f"{where}:10: model marts.counted returned int; {ACCEPTED}"
    )
    assert result.steps["marts.mapping"].error == (
        f"{where}:15: model marts.mapping returned dict; {ACCEPTED}"
    )


def test_an_exception_is_one_line_at_the_users_last_frame(tmp_path: Path) -> None:
    root = _project(tmp_path)
    project = load_project(root)
    result = run(project, include=["broken"])
    error = result.steps["marts.broken"].error or ""
    # json's own frames are not the project's: the line to fix is parse()'s, line 7
    assert error.startswith(f"{root / 'python/models.py'}:7: JSONDecodeError: Expecting ")
    assert len(error.splitlines()) == 1 and "Traceback" not in error
    with Metastore.open(project.metastore_url) as store:
        [step] = [s for s in store.step_runs(result.run_id) if s.step == "marts.broken"]
    assert step.error == error
    log = (project.logs_dir / result.run_id / "marts.broken.log").read_text()
    assert "Traceback (most recent call last)" in log
    assert 'settings = parse("{not json")' in log and "json/decoder.py" in log
    run_log = (project.logs_dir / result.run_id / "run.log").read_text()
    assert "Traceback" not in run_log and "JSONDecodeError" in run_log


def test_the_console_shows_the_one_line(tmp_path: Path) -> None:
    root = _project(tmp_path)
    result = invoke("run", "-p", str(root), "-s", "broken")
    assert result.exit_code == 5
    assert f"{root / 'python/models.py'}:7: JSONDecodeError" in result.output
    assert "Traceback" not in result.output
