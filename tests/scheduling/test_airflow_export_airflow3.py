"""The exported DAG file in a real Airflow 3: loaded into a ``DagBag`` (no import error), its
tasks, upstream ids, timetable and start date as the project says, its first data interval
the schedule's first, and a task's command, rendered as Airflow renders it, runs the step.

Airflow lives in a virtualenv of its own, made with uv on first use and kept between runs
under ``~/.cache/headwater-tests/airflow3-<version>`` (``HEADWATER_TEST_CACHE`` moves it); a
clean machine installs it here (about 6-30 s from PyPI, see benchmarks/README.md).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from headwater import api
from headwater.metastore import Metastore
from headwater.scheduling.intervals import intervals, schedule_of
from headwater.testing.cli import invoke, write_project

pytestmark = pytest.mark.slow

AIRFLOW = "3.3.2"
CACHE = Path(os.environ.get("HEADWATER_TEST_CACHE") or Path.home() / ".cache" / "headwater-tests")

TOML = """
[pipelines.nightly]
select = ["+marts.report"]
schedule = "30 2 * * *"
timezone = "Europe/Berlin"
start = 2026-03-27
catchup = "all"
max_active_runs = 2

[pipelines.quarter]
select = ["staging.orders"]
every = "15m"
start = 2026-01-01T00:05:00Z
"""
FILES = {
    "headwater.toml": TOML,
    "models/staging/orders.sql": "select 1 as id, 10 as amount\n",
    "models/staging/customers.sql": "select 1 as id, 'a' as name\n",
    "models/marts/report.sql": (
        "select c.name, sum(o.amount) as revenue\n"
        "from staging.orders o join staging.customers c on c.id = o.id group by all\n"
    ),
}

# runs in Airflow's venv: the DAG folder's DAGs as JSON, with each one's first scheduled
# data interval and its tasks' commands rendered for that interval
PROBE = """
import json, sys
import jinja2
from airflow.dag_processing.dagbag import DagBag
from airflow.timetables.base import TimeRestriction

bag = DagBag(dag_folder=sys.argv[1])
found = {"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    info = dag.timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(dag.start_date, dag.end_date, True),
    )
    start, end = info.data_interval.start, info.data_interval.end
    context = {"dag": dag, "run_id": "scheduled__" + start.isoformat(),
               "data_interval_start": start, "data_interval_end": end}
    found["dags"][dag_id] = {
        "tasks": {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks},
        "commands": {t.task_id: jinja2.Template(t.bash_command).render(**context)
                     for t in dag.tasks},
        "timetable": type(dag.timetable).__name__,
        "summary": dag.timetable.summary,
        "timezone": str(getattr(dag.timetable, "_timezone", "")),
        "start_date": dag.start_date.isoformat(),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "first_interval": [start.isoformat(), end.isoformat()],
    }
print(json.dumps(found))
"""


def airflow_python() -> Path:
    """The interpreter of the cached Airflow venv, made with uv when missing (a lock: one
    test process installs; ``.installed`` marks a finished install)."""
    venv = CACHE / f"airflow3-{AIRFLOW}"
    python, done = venv / "bin" / "python", venv / ".installed"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"airflow3-{AIRFLOW}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(venv, ignore_errors=True)  # a half-made one
            uv = str(Path(sys.executable).with_name("uv"))
            subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
            subprocess.run(
                [uv, "pip", "install", "-q", "--python", str(python), f"apache-airflow=={AIRFLOW}"],
                check=True,
                timeout=1200,
            )
            done.write_text(f"apache-airflow=={AIRFLOW}\n")
    return python


def _probe(dags: Path, tmp_path: Path) -> dict[str, Any]:
    home = tmp_path / "airflow_home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
    }
    done = subprocess.run(
        [str(airflow_python()), "-c", PROBE, str(dags)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_exported_dags_load_in_airflow3_as_the_project_says(tmp_path: Path) -> None:
    root = write_project(tmp_path / "shop", FILES, name="shop")
    dags = tmp_path / "dags"
    dags.mkdir()
    for name in ("nightly", "quarter"):
        result = invoke("export", "airflow", name, "-p", str(root), "-o", str(dags / f"{name}.py"))
        assert result.exit_code == 0, result.output
    found = _probe(dags, tmp_path)
    assert found["import_errors"] == {}
    project = api.open_project(root)
    assert set(found["dags"]) == {"headwater_shop_nightly", "headwater_shop_quarter"}
    for name in ("nightly", "quarter"):
        dag = found["dags"][f"headwater_shop_{name}"]
        settings = project.settings.pipelines[name]
        chosen = api.selection(project, pipeline=name).names
        assert dag["tasks"] == {
            step: sorted(d for d in project.graph[step].deps if d in chosen) for step in chosen
        }
        schedule = schedule_of(settings)
        assert schedule is not None and schedule.start is not None
        assert dag["start_date"] == schedule.start.isoformat()
        assert dag["max_active_runs"] == settings.max_active_runs
        # Airflow's first data interval is the schedule's first interval in Headwater
        first = next(intervals(schedule))
        assert dag["first_interval"] == [first.start.isoformat(), first.end.isoformat()]
    nightly = found["dags"]["headwater_shop_nightly"]
    assert nightly["timetable"] == "CronDataIntervalTimetable"
    assert (nightly["summary"], nightly["timezone"]) == ("30 2 * * *", "Europe/Berlin")
    assert nightly["catchup"] is True
    quarter = found["dags"]["headwater_shop_quarter"]
    assert quarter["timetable"] == "DeltaDataIntervalTimetable"
    assert quarter["catchup"] is False

    # a task's command as Airflow renders it runs its step, in the DAG run's group and interval
    command = nightly["commands"]["staging.orders"]
    ran = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    with Metastore.open(f"sqlite:///{root / '.headwater' / 'metastore.sqlite'}") as store:
        (run,) = store.runs(5)
    start, end = nightly["first_interval"]
    assert run.params["steps"] == ["staging.orders"] and run.status == "success"
    assert run.params["run_group"] == f"headwater_shop_nightly/scheduled__{start}"
    assert (run.params["interval_start"], run.params["interval_end"]) == (start, end)
