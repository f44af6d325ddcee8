"""The records :mod:`headwater.api` returns: frozen dataclasses holding plain values
(``datetime`` for instants), each with ``to_json()``: a JSON-ready value (instants in ISO
8601 UTC) that ``json.dumps`` takes as it is. ``-f json`` of the CLI prints exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from headwater.metastore.records import RunRecord, StepRunRecord


def plain(value: Any) -> Any:
    """``value`` made JSON-ready: what JSON lacks (instants, decimals, UUIDs, bytes) becomes
    its ``str``, as ``json.dumps(default=str)`` would write it; lists and dicts recursively."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return str(value)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds from ``start`` to ``end`` (ms precision); None while either is unknown."""
    return round((end - start).total_seconds(), 3) if start and end else None


@dataclass(frozen=True)
class RunInfo:
    """One run of the metastore. ``kind``: run, retry (of ``parent_run_id``) or check."""

    run_id: str
    kind: str
    status: str  # running | success | failed | interrupted | abandoned
    trigger: str
    parent_run_id: str | None
    pipeline: str | None
    selection: str | None
    started_at: datetime
    finished_at: datetime | None
    reason: str | None = None  # why a trigger (files, asset, condition) started it
    run_group: str | None = None  # the outside run it is a step of (an Airflow DAG run)

    @classmethod
    def from_record(cls, r: RunRecord) -> RunInfo:
        reason, group = r.params.get("reason"), r.params.get("run_group")
        return cls(
            r.run_id, r.kind, r.status, r.trigger, r.parent_run_id, r.pipeline,
            r.selection, r.started_at, r.finished_at,
            reason if isinstance(reason, str) else None,
            group if isinstance(group, str) else None,
        )  # fmt: skip

    @property
    def seconds(self) -> float | None:
        """How long it took; None while it runs."""
        return seconds_between(self.started_at, self.finished_at)

    def to_json(self) -> dict[str, Any]:
        """The run's fields, instants in ISO 8601, plus ``seconds``."""
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "status": self.status,
            "trigger": self.trigger,
            "parent_run_id": self.parent_run_id,
            "pipeline": self.pipeline,
            "selection": self.selection,
            "started_at": self.started_at.isoformat(),
            "finished_at": _iso(self.finished_at),
            "seconds": self.seconds,
            "reason": self.reason,
            "run_group": self.run_group,
        }


@dataclass(frozen=True)
class StepInfo:
    """One step of a run: its outcome, timings, row counts and whole error."""

    step: str
    kind: str
    status: str
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    rows_in: int | None
    rows_out: int | None
    error: str | None
    log_path: str | None

    @classmethod
    def from_record(cls, s: StepRunRecord) -> StepInfo:
        return cls(
            s.step, s.kind, s.status, s.attempts, s.started_at, s.finished_at,
            s.rows_in, s.rows_out, s.error, s.log_path,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "kind": self.kind,
            "status": self.status,
            "attempts": self.attempts,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "seconds": seconds_between(self.started_at, self.finished_at),
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "error": self.error,
            "log_path": self.log_path,
        }


@dataclass(frozen=True)
class RunDetail:
    """A run and its steps (``headwater show``)."""

    run: RunInfo
    steps: list[StepInfo]

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run.to_json(), "steps": [s.to_json() for s in self.steps]}


@dataclass(frozen=True)
class LoadInfo:
    """One load of a source (a row of ``_headwater.loads``); ``schema_changes`` are the
    contract's decisions, one dict per column (column, old_type, new_type, action)."""

    load_id: int | str  # text in warehouses older than numeric load ids
    asset: str
    run_id: str | None
    rows_read: int | None
    rows_written: int | None
    rows_rejected: int | None
    rows_superseded: int | None
    loaded_at: datetime
    schema_changes: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = {k: plain(v) for k, v in self.__dict__.items()}
        out["loaded_at"] = self.loaded_at.isoformat()
        return out


@dataclass(frozen=True)
class QueryResult:
    """Columns and rows of a statement (rows as DuckDB gives them: Python values)."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def to_json(self) -> list[dict[str, Any]]:
        """One object per row, keyed by column."""
        return [plain(dict(zip(self.columns, r, strict=True))) for r in self.rows]


@dataclass(frozen=True)
class CheckReport:
    """A check run: every result (``headwater.quality.CheckResult``), the assets skipped
    because they are not built yet; ``ok`` when no result blocks."""

    run_id: str
    ok: bool
    skipped: list[str]
    results: list[Any]

    def to_json(self) -> dict[str, Any]:
        return plain(
            {
                "run_id": self.run_id,
                "ok": self.ok,
                "skipped": self.skipped,
                "results": [r.as_dict() for r in self.results],
            }
        )


@dataclass(frozen=True)
class QuarantineGroupInfo:
    """Quarantined rows of one table sharing their failed checks and reason."""

    table: str  # quarantine.<table>
    checks: str  # comma-separated check names
    reason: str
    rows: int
    loads: int
    last_at: datetime | None


@dataclass(frozen=True)
class RejectedInfo:
    """Rows a load rejected while reading (bad file lines, duplicates, schema contract)."""

    asset: str
    error: str | None
    rows: int


@dataclass(frozen=True)
class QuarantineListing:
    """What is in quarantine, and what loads rejected, per asset and reason."""

    quarantined: list[QuarantineGroupInfo]
    rejected: list[RejectedInfo]

    def to_json(self) -> dict[str, Any]:
        return {
            "quarantined": [{**g.__dict__, "last_at": _iso(g.last_at)} for g in self.quarantined],
            "rejected": [dict(r.__dict__) for r in self.rejected],
        }


@dataclass(frozen=True)
class ReleaseResult:
    """A release: ``released`` rows went back into ``asset`` (``written`` by its load);
    ``remaining`` selected rows still fail its checks and stay in quarantine."""

    asset: str
    table: str
    released: int
    written: int
    remaining: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class CompiledModel:
    """A selected model: its compiled SQL, or None for a Python model (``location``)."""

    name: str
    kind: str  # table | view | incremental | python table ...
    path: str | None
    location: str | None
    sql: str | None


@dataclass(frozen=True)
class CompiledPlan:
    """A selection's steps in execution order (name, kind) and its models' SQL."""

    steps: list[tuple[str, str]]
    models: list[CompiledModel]

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": [{"name": n, "kind": k} for n, k in self.steps],
            "models": [dict(m.__dict__) for m in self.models],
        }
