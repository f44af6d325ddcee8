"""A timed-out step that ignores its cancel: the run waits for it before closing the engine.

Closing DuckDB under a running statement crashes the process (CI saw a segfault when a
timed-out load was still rolling back as its run closed the warehouse).
"""

from __future__ import annotations

import threading
import time

import pytest

from headwater.project import load_project
from headwater.runtime import run
from headwater.runtime.executor import TIMED_OUT, Executor, Step


def _stubborn(seconds: float, finished: threading.Event):
    def fn() -> None:
        time.sleep(seconds)  # a cancel cannot reach a sleeping Python function
        finished.set()

    return fn


def test_run_returns_after_the_timed_out_attempt_returns():
    finished = threading.Event()
    cancels: list[int] = []
    step = Step("slow", (), _stubborn(0.8, finished), timeout=0.2, cancel=cancels.append)
    executor = Executor([step], threads=1, on_event=lambda e: None)
    state = executor.run()
    assert state["slow"].status == TIMED_OUT
    assert finished.is_set(), "run() returned while the timed-out attempt still ran"
    assert executor.stragglers == []
    assert len(cancels) >= 1


def test_an_attempt_running_past_the_drain_timeout_is_named():
    finished = threading.Event()
    step = Step("stuck", (), _stubborn(20.0, finished), timeout=0.1)  # a daemon thread
    executor = Executor([step], threads=1, on_event=lambda e: None, drain_timeout=0.3)
    started = time.monotonic()
    executor.run()
    assert time.monotonic() - started < 10  # the drain's 0.3 s, not the step's 20 s
    assert not finished.is_set()
    assert executor.stragglers == ["stuck"]


SLOW_MODEL = """
import time
from headwater import model

@model(materialized="table", timeout=0.2)
def slow(base):
    time.sleep(1.0)
    return base.aggregate("count(*) as n")
"""


def test_a_model_past_its_timeout_finishes_before_the_warehouse_closes(project_dir):
    root = project_dir(
        {
            "headwater.toml": "",
            "models/s/base.sql": "select * from range(10) t(i)",
            "python/slow.py": SLOW_MODEL,
        }
    )
    project = load_project(root)
    started = time.monotonic()
    result = run(project)
    assert result.steps["marts.slow"].status == TIMED_OUT
    assert time.monotonic() - started >= 1.0  # waited for the model's return
    assert run(project, include=["s.base"]).status == "success"  # the warehouse reopens


def test_an_interrupted_run_waits_for_its_running_steps():
    """Ctrl-C (here: the event callback raising) cancels the running steps and waits for
    them: the caller then closes the engine they use."""
    finished = threading.Event()
    cancels: list[int] = []
    slow = Step("slow", (), _stubborn(0.8, finished), cancel=cancels.append)
    other = Step("other", (), lambda: None)

    def interrupt(event) -> None:
        if event.step == "other" and event.kind == "started":
            raise KeyboardInterrupt

    executor = Executor([slow, other], threads=2, on_event=interrupt)
    with pytest.raises(KeyboardInterrupt):
        executor.run()
    assert finished.is_set(), "run() raised while the interrupted step still ran"
    assert len(cancels) >= 1
    assert executor.stragglers == []
