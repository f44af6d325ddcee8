"""An Airflow 3 DAG file running one pipeline's steps, for teams that already run Airflow.

Contract: :func:`airflow_dag` returns the text of a Python module (it imports Airflow; this
module does not) defining one DAG:

- one ``BashOperator`` per step of the pipeline, in the run's order, running
  ``headwater run -p ROOT -s STEP --run-group DAG_ID/RUN_ID`` (so the Headwater runs of one
  DAG run share a run group, recorded in each run's params) and, for a scheduled pipeline,
  ``--interval-start``/``--interval-end`` from the DAG run's data interval (so partitioned
  models build exactly it);
- each step's upstream tasks are the steps it reads among the pipeline's steps (the
  dependencies ``headwater run --pipeline`` itself waits for);
- the schedule: ``schedule`` as a ``CronDataIntervalTimetable`` in the pipeline's
  ``timezone``, ``every`` as a ``DeltaDataIntervalTimetable`` (data intervals, as
  Headwater's: a run covers ``[start, end)`` and starts once it ended; Airflow 3's plain cron
  string would give empty intervals), none for a pipeline without one (manual runs only,
  without an interval); ``start``/``end`` as ``start_date``/``end_date``; ``catchup = "all"``
  as ``catchup=True``, ``"latest"`` and ``"none"`` as ``catchup=False`` (Airflow then runs
  the latest interval); ``max_active_runs`` as it is.

``every`` steps from ``start``, else from 1970-01-01 UTC, as Headwater's does. ``max_active_tasks
= 1``: without a server each task opens the DuckDB warehouse, which takes one writer at a time
(with ``headwater server`` up, the tasks' runs queue there instead).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from headwater.config.settings import PipelineSettings
from headwater.scheduling.intervals import EPOCH, schedule_of

__all__ = ["Step", "airflow_dag", "dag_id_of", "task_id_of"]

Step = tuple[str, Sequence[str]]  # a step's name, the names of the steps it reads
_NOT_IN_TASK_ID = re.compile(r"[^A-Za-z0-9_.-]")  # Airflow's task/dag id alphabet


def task_id_of(step: str) -> str:
    """The Airflow task id of a Headwater step: its name, other characters as ``_``.

    >>> task_id_of("raw.orders"), task_id_of("api/users 2")
    ('raw.orders', 'api_users_2')
    """
    return _NOT_IN_TASK_ID.sub("_", step)[:250]


def dag_id_of(project: str, pipeline: str) -> str:
    """``headwater_<project>_<pipeline>`` in Airflow's id alphabet."""
    return task_id_of(f"headwater_{project}_{pipeline}")


def airflow_dag(
    *,
    project: str,
    pipeline: str,
    settings: PipelineSettings,
    root: Path,
    steps: Sequence[Step],
    command: str = "headwater",
    source: str = "headwater.toml",
) -> str:
    """The DAG module of ``pipeline`` (``settings``) of project ``project`` at ``root``
    (absolute), whose ``steps`` are in run order; ``command`` runs Headwater, ``source``
    names where the pipeline comes from (in the header)."""
    ids = _unique_ids([name for name, _ in steps])
    table = [
        f"    {ids[name]!r}: ({name!r}, [{', '.join(repr(ids[d]) for d in deps)}]),"
        for name, deps in steps
    ]
    timed = settings.schedule is not None or settings.every is not None
    interval = (
        "    \" --interval-start '{{ data_interval_start.isoformat() }}'\"\n"
        "    \" --interval-end '{{ data_interval_end.isoformat() }}'\"\n"
        if timed
        else ""
    )
    return _TEMPLATE.format(
        pipeline=pipeline,
        project=project,
        source=source,
        imports=_imports(settings),
        headwater=repr(shlex.quote(command)),
        root=repr(shlex.quote(str(root))),
        interval=interval,
        steps="\n".join(table),
        dag_args=_dag_args(project, pipeline, settings),
    )


def _unique_ids(names: list[str]) -> dict[str, str]:
    """Task ids for ``names``; two names with the same id get ``_2``, ``_3`` suffixes."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        base = candidate = task_id_of(name)
        k = 1
        while candidate in taken:
            k += 1
            candidate = f"{base}_{k}"
        ids[name] = candidate
        taken.add(candidate)
    return ids


def _imports(settings: PipelineSettings) -> str:
    kinds = []
    if settings.schedule is not None:
        kinds.append("CronDataIntervalTimetable")
    if settings.every is not None:
        kinds.append("DeltaDataIntervalTimetable")
    if not kinds:
        return ""
    return f"from airflow.timetables.interval import {', '.join(kinds)}\n"


def _dag_args(project: str, pipeline: str, settings: PipelineSettings) -> str:
    """The keyword arguments of ``DAG(...)``, one per line."""
    schedule = schedule_of(settings)
    args: list[tuple[str, str]] = [("dag_id", repr(dag_id_of(project, pipeline)))]
    if schedule is None:
        args += [("schedule", "None"), ("start_date", _instant(EPOCH)), ("catchup", "False")]
    else:
        if schedule.cron is not None:
            timetable = (
                f"CronDataIntervalTimetable({schedule.cron!r}, timezone={settings.timezone!r})"
            )
        else:
            timetable = f"DeltaDataIntervalTimetable({_delta(schedule.every)})"
        start = schedule.start or EPOCH
        args += [("schedule", timetable), ("start_date", _instant(start))]
        if schedule.end is not None:
            args.append(("end_date", _instant(schedule.end)))
        # "all" without a start runs only the latest interval in Headwater too (due.py)
        catchup = schedule.catchup == "all" and schedule.start is not None
        args += [("catchup", str(catchup)), ("max_active_runs", str(schedule.max_active_runs))]
    args += [("max_active_tasks", "1"), ("tags", "['headwater']")]
    return "\n".join(f"    {key}={value}," for key, value in args)


def _instant(at: datetime) -> str:
    """``at`` (aware) as a UTC ``datetime(...)`` expression of the generated module."""
    u = at.astimezone(UTC)
    return f"datetime.datetime({u.year}, {u.month}, {u.day}, {u.hour}, {u.minute}, {u.second}, tzinfo=datetime.timezone.utc)"


def _delta(every: timedelta | None) -> str:
    return f"datetime.timedelta(seconds={int(every.total_seconds()) if every else 0})"


_TEMPLATE = '''\
"""Airflow 3 DAG running Headwater pipeline {pipeline!r} of project {project!r}.

Generated by `headwater export airflow {pipeline}` from
{source}
Do not edit: regenerate it when the project changes. Each task runs one step with
`headwater run -s STEP`; the steps of one DAG run share the run group DAG_ID/RUN_ID
(`headwater show RUN` and `headwater runs -f json` show it) and, when scheduled, the DAG
run's data interval.
max_active_tasks=1: without `headwater server` up, each task opens the DuckDB warehouse,
which takes one writer at a time.
"""

from __future__ import annotations

import datetime
import shlex

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
{imports}
HEADWATER = {headwater}
PROJECT = {root}
# the Headwater run group of the DAG run, and its data interval [start, end)
ARGS = (
    " --run-group '{{{{ dag.dag_id }}}}/{{{{ run_id }}}}'"
{interval})

# task id: (Headwater step, upstream task ids)
STEPS = {{
{steps}
}}


def headwater_run(step: str) -> str:
    """The shell command running one step of the pipeline."""
    return f"{{HEADWATER}} run -p {{PROJECT}} -s {{shlex.quote(step)}}{{ARGS}}"


with DAG(
{dag_args}
) as dag:
    tasks = {{
        task_id: BashOperator(task_id=task_id, bash_command=headwater_run(step))
        for task_id, (step, _) in STEPS.items()
    }}
    for task_id, (_, upstream) in STEPS.items():
        for up in upstream:
            tasks[up] >> tasks[task_id]
'''
