"""One run in detail, for the web UI's run page and its JSON: :func:`run_detail` (the run
and its steps with their errors whole), :func:`step_log` (a step's log, read from an
offset: a live page asks again for what was written since) and :func:`retry_steps` (the
steps :func:`headwater.api.retry` would run again).

The metastore keeps at most 1 KB of an error (a step-run row stays under 2 KB); the step's
log keeps it whole, and :func:`run_detail` reads it back from there. Log text is redacted
(connection URLs' passwords, secrets read from the environment) before it is returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from headwater.api.history import show
from headwater.api.project import ProjectLike, as_project, metastore
from headwater.api.records import RunDetail, StepInfo
from headwater.config.secrets import redact_text
from headwater.errors import HeadwaterError

LOG_CHUNK = 256 * 1024  # the most of a log one call returns (a page asks again for more)
FINAL_RUN = frozenset({"success", "failed", "interrupted", "abandoned"})
_CUT = "[cut: the whole error is in the step's log]"  # metastore.step_history's marker
# a record of a step log: "2026-12-07 04:03:22,123 ERROR message" (logging's asctime)
_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ([A-Z]+) ", re.MULTILINE)


@dataclass(frozen=True)
class StepLog:
    """Part of a step's log: ``text`` from byte ``offset`` up to byte ``next_offset`` (whole
    lines only); ``done`` once the step is over and nothing more will be written
    (``status`` is the step's); ``exists``: the step wrote a log at all."""

    run_id: str
    step: str
    status: str
    text: str
    offset: int
    next_offset: int
    done: bool
    exists: bool

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_detail(project: ProjectLike, run_id: str) -> RunDetail:
    """Run ``run_id`` (or the only one whose id starts so) and its steps, in start order,
    each error whole: one the metastore cut is the last ERROR record of the step's log
    (redacted). HeadwaterError when there is no such run."""
    found = show(project, run_id)
    steps = [_whole_error(s) for s in found.steps]
    return RunDetail(found.run, steps)


def step_log(project: ProjectLike, run_id: str, step: str, offset: int = 0) -> StepLog:
    """Step ``step``'s log in run ``run_id`` from byte ``offset``: at most
    :data:`LOG_CHUNK` bytes, ending at a line's end (a line being written waits for the
    next call). HeadwaterError (404 through the server) for an unknown run or a step the
    run does not have; a step that has logged nothing yet gives empty text."""
    proj = as_project(project)
    found = show(proj, run_id)
    info = next((s for s in found.steps if s.step == step), None)
    if info is None:
        raise HeadwaterError(f"no run {run_id!r} step {step!r} (see `headwater show {run_id}`)")
    path = _log_path(proj.logs_dir / found.run.run_id, info)
    done = info.status not in ("pending", "running") or found.run.status in FINAL_RUN
    text, upto = "", max(0, offset)
    if path.is_file():
        upto = min(upto, path.stat().st_size)  # past the end: seek failed on a huge offset
        with path.open("rb") as stream:
            stream.seek(upto)
            data = stream.read(LOG_CHUNK)
        whole = data if done and len(data) < LOG_CHUNK else data[: data.rfind(b"\n") + 1]
        text, upto = redact_text(whole.decode("utf-8", "replace")), upto + len(whole)
        done = done and upto >= path.stat().st_size
    return StepLog(
        found.run.run_id, step, info.status, text, max(0, offset), upto, done, path.is_file()
    )


def retry_steps(project: ProjectLike, run_id: str) -> list[str]:
    """The steps :func:`headwater.api.retry` of ``run_id`` would run again: those it planned
    that did not succeed (failed, upstream_failed, skipped, never started), in its plan's
    order; empty when every step succeeded. HeadwaterError for an unknown run,
    ProjectError for a check run (as retry)."""
    from headwater.errors import ProjectError

    proj = as_project(project)
    with metastore(proj) as store:
        record = store.get_run(run_id)
        if record is None:
            raise HeadwaterError(f"no run {run_id!r} (see `headwater runs`)")
        if record.kind == "check":
            raise ProjectError(f"run {record.run_id} is a check run: rerun its checks instead")
        done = {s.step for s in store.step_runs(record.run_id) if s.status == "success"}
    planned = record.params.get("steps")
    if not isinstance(planned, list):
        return []
    return [s for s in planned if isinstance(s, str) and s not in done and s in proj.graph]


def _log_path(run_dir: Path, info: StepInfo) -> Path:
    """The step's log file: the one recorded, else where the runtime writes it (a running
    step's file is recorded only at its next event). Never outside the run's folder."""
    path = Path(info.log_path) if info.log_path else run_dir / f"{info.step}.log"
    if not path.resolve().is_relative_to(run_dir.resolve()):
        return run_dir / "-"  # not a file: no log
    return path


def _whole_error(step: StepInfo) -> StepInfo:
    if not step.error or not step.error.endswith(_CUT) or not step.log_path:
        return step
    try:
        text = Path(step.log_path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return step
    errors = [m for m in _RECORD.finditer(text) if m.group(1) in ("ERROR", "CRITICAL")]
    if not errors:
        return step
    start = errors[-1].end()
    following = _RECORD.search(text, start)
    whole = text[start : following.start() if following else len(text)].rstrip("\n")
    return replace(step, error=redact_text(whole))


__all__ = ["FINAL_RUN", "LOG_CHUNK", "StepLog", "retry_steps", "run_detail", "step_log"]
