"""What a plain ``headwater run`` imports: start-up time is paid on every run, so the
modules of the server, the web UI, the cloud and stream sources, the remote executors and
dataframes stay out of a run that does not use them.

Each case runs the real entry point (``python -X importtime -m headwater run``) in a fresh
interpreter and reads the modules it imported from the importtime report."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

# fastapi/uvicorn/jinja2/argon2: the server and its web UI; httpx: the REST source and the
# server client; boto3: s3://; confluent_kafka: the Kafka source; distributed: dask://;
# pyspark: Spark; pandas/numpy/pyarrow: dataframes (DuckDB's Python module imports pandas
# the first time a statement binds a parameter, about a third of a small run's start-up)
NOT_IN_A_PLAIN_RUN = (
    "fastapi",
    "uvicorn",
    "jinja2",
    "argon2",
    "httpx",
    "boto3",
    "botocore",
    "confluent_kafka",
    "distributed",
    "pyspark",
    "pandas",
    "numpy",
    "pyarrow",
)
_IMPORTED = re.compile(r"^import time:\s+\d+\s+\|\s+\d+\s+\|\s*(\S+)\s*$", re.MULTILINE)


def imported_by_run(project: Path, *args: str) -> set[str]:
    """Top-level packages a ``headwater run -p project`` process imported (it must succeed)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "headwater", "run", "-p", str(project), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    return {name.split(".")[0] for name in _IMPORTED.findall(proc.stderr)}


def heavy(imported: set[str]) -> list[str]:
    return sorted(set(NOT_IN_A_PLAIN_RUN) & imported)


@pytest.fixture
def one_model(tmp_path: Path) -> Path:
    root = tmp_path / "one"
    (root / "models").mkdir(parents=True)
    (root / "headwater.toml").write_text('[project]\nname = "one"\n')
    (root / "models" / "m.sql").write_text("select 1 as x\n")
    return root


def test_a_one_model_run_imports_no_server_cloud_stream_or_dataframe_module(one_model):
    first = imported_by_run(one_model)  # cold: creates the warehouse and the metastore
    again = imported_by_run(one_model)  # warm: both exist, the parse cache is filled
    assert heavy(first) == []
    assert heavy(again) == []
    assert "duckdb" in again  # the check sees what the run imported


def test_a_run_of_python_tasks_imports_none_of_them_either(tmp_path):
    root = tmp_path / "tasks"
    (root / "python").mkdir(parents=True)
    (root / "headwater.toml").write_text('[project]\nname = "tasks"\n')
    (root / "python" / "jobs.py").write_text(
        "from headwater import task\n\n\n"
        "@task\ndef first(ctx):\n    pass\n\n\n"
        "@task(depends_on=['first'], warehouse=False)\ndef second(ctx):\n    pass\n"
    )
    assert heavy(imported_by_run(root, "-t", "2")) == []


def test_a_command_exits_without_collecting_what_it_imported(tmp_path):
    """At exit, CPython's last collections would walk every object of every imported module
    (about a fifth of a one-model run's CPU time): the entry point freezes them first. An
    atexit handler registered before ``main`` runs after the entry point's own."""
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
        "sys.argv = ['headwater', '--version']\n"
        "from headwater.cli.app import main\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "frozen at exit: True"


def _callbacks(app: typer.Typer) -> list[Any]:
    """The function of every command of ``app`` and of its sub-apps."""
    found = [c.callback for c in app.registered_commands]
    for group in app.registered_groups:
        found += _callbacks(group.typer_instance) if group.typer_instance else []
    return found


def test_command_parameters_are_annotated_with_objects_not_strings():
    """Typer reads every command's parameters at each start; a string annotation (from
    ``from __future__ import annotations``) costs it a compile() and an eval() each time."""
    from headwater.cli.app import app

    callbacks = _callbacks(app)
    assert len(callbacks) > 20
    postponed = sorted(
        f"{fn.__module__}.{fn.__name__}"
        for fn in callbacks
        if any(isinstance(a, str) for a in fn.__annotations__.values())
    )
    assert postponed == []
