"""The steps and attempts of runs: :class:`StepHistory`, the part of
:class:`~headwater.metastore.store.Metastore` that writes and reads them.

A step is one asset or task of a run (``step_runs``); an attempt is one try of a step
(``attempts``; a retried step has several). The runtime writes both as its steps start and
end, in batches (:meth:`StepHistory.replace_steps`); the CLI and the UI read them back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from headwater.metastore import tables as t
from headwater.metastore.bulk_upsert import postgres_upsert, upsert_params
from headwater.metastore.records import (
    STEP_KINDS,
    STEP_STATUSES,
    AttemptRecord,
    StepRunRecord,
    _attempt_record,
    _check_choice,
    _check_id,
    _step_record,
)

__all__ = ["ERROR_MAX_BYTES", "StepHistory", "clip_error"]

ERROR_MAX_BYTES = 1024
"""The most of an error's text (UTF-8 bytes) kept in ``step_runs`` and ``attempts``: a
step-run row stays under 2 KB however long the error (a 100 KB traceback, a driver dumping
a query). The step's log file keeps the error whole."""
_CLIPPED = " ... [cut: the whole error is in the step's log]"


def clip_error(error: str | None) -> str | None:
    """``error`` cut to at most :data:`ERROR_MAX_BYTES` UTF-8 bytes, saying so at its end.

    >>> len(clip_error("x" * 100_000).encode())
    1024
    >>> clip_error("short")
    'short'
    """
    if error is None or len(error) <= ERROR_MAX_BYTES // 4:  # fits whatever its characters
        return error
    data = error.encode()
    if len(data) <= ERROR_MAX_BYTES:
        return error
    keep = ERROR_MAX_BYTES - len(_CLIPPED.encode())
    return data[:keep].decode("utf-8", "ignore") + _CLIPPED


class _ReplaceStatements:
    """The statements of :meth:`StepHistory.replace_steps`, built once: the runtime calls it for
    every batch of step events, and building them costs more than running them."""

    def __init__(self) -> None:
        st, at = t.step_runs, t.attempts
        k_run: sa.BindParameter[str] = sa.bindparam("k_run")
        k_step: sa.BindParameter[str] = sa.bindparam("k_step")
        self.delete_steps = st.delete().where(st.c.run_id == k_run, st.c.step == k_step)
        self.insert_steps = st.insert()
        self.delete_attempts = at.delete().where(
            at.c.run_id == k_run, at.c.step == k_step, at.c.attempt == sa.bindparam("k_attempt")
        )
        self.insert_attempts = at.insert()


_REPLACE = _ReplaceStatements()


def _last_per_key(rows: Sequence[Mapping[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    """``rows`` with their errors clipped, the later of two with one key only (it would
    have replaced the earlier one; one statement cannot write a key twice)."""
    last = {tuple(r[k] for k in key): r for r in rows}
    return [{**r, "error": clip_error(r.get("error"))} for r in last.values()]


class StepHistory:
    """Writes and reads ``step_runs`` and ``attempts``. A base of
    :class:`~headwater.metastore.store.Metastore`, which provides the transactions
    (:meth:`_write`: serialised, one short transaction, or the current batch's; :meth:`_read`)."""

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def upsert_step(
        self,
        run_id: str,
        step: str,
        *,
        kind: str,
        status: str,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
        attempts: int | None = None,
        rows_in: int | None = None,
        rows_out: int | None = None,
        error: str | None = None,
        log_path: str | None = None,
    ) -> None:
        """Insert the step of a run, or update it: only ``kind``, ``status`` and the fields
        given (not ``None``) are written, the others keep their value.

        A new step starts with ``attempts = 0`` unless given. The run must exist
        (``start_run`` first; otherwise ``sqlalchemy.exc.IntegrityError``). ``error`` must
        already be redacted; it is stored cut at :data:`ERROR_MAX_BYTES` (:func:`clip_error`).
        """
        _check_id("step", step)
        _check_choice("step kind", kind, STEP_KINDS)
        _check_choice("step status", status, STEP_STATUSES)
        values: dict[str, object] = {"kind": kind, "status": status}
        optional = {
            "started_at": started_at,
            "finished_at": finished_at,
            "attempts": attempts,
            "rows_in": rows_in,
            "rows_out": rows_out,
            "error": clip_error(error),
            "log_path": log_path,
        }
        values.update({k: v for k, v in optional.items() if v is not None})
        table = t.step_runs
        with self._write() as conn:
            result = conn.execute(
                table.update()
                .where(table.c.run_id == run_id, table.c.step == step)
                .values(**values)
            )
            if result.rowcount == 0:
                values.setdefault("attempts", 0)
                conn.execute(table.insert().values(run_id=run_id, step=step, **values))

    def step_runs(self, run_id: str) -> list[StepRunRecord]:
        """The steps of a run in start order; steps not started yet (no ``started_at``) last.

        Ties are broken by step name. Unknown run: ``[]``.
        """
        table = t.step_runs
        query = (
            sa.select(table)
            .where(table.c.run_id == run_id)
            .order_by(
                sa.case((table.c.started_at.is_(None), 1), else_=0),
                table.c.started_at,
                table.c.step,
            )
        )
        with self._read() as conn:
            return [_step_record(row) for row in conn.execute(query)]

    def record_attempt(
        self,
        run_id: str,
        step: str,
        attempt: int,
        *,
        status: str,
        started_at: datetime,
        finished_at: datetime | None,
        error: str | None,
    ) -> None:
        """Insert or replace attempt number ``attempt`` (1, 2, ...) of a step.

        Call it when the attempt starts (``running``) and again when it ends; every field is
        overwritten. The run must exist. ``error`` must already be redacted.
        """
        _check_id("step", step)
        _check_choice("attempt status", status, STEP_STATUSES)
        values: dict[str, object] = {
            "status": status,
            "started_at": started_at,
            "finished_at": finished_at,
            "error": clip_error(error),
        }
        table = t.attempts
        with self._write() as conn:
            result = conn.execute(
                table.update()
                .where(table.c.run_id == run_id, table.c.step == step, table.c.attempt == attempt)
                .values(**values)
            )
            if result.rowcount == 0:
                conn.execute(
                    table.insert().values(run_id=run_id, step=step, attempt=attempt, **values)
                )

    def attempts(self, run_id: str, step: str | None = None) -> list[AttemptRecord]:
        """The attempts of a run (of one step if given), by start time, step, attempt number."""
        table = t.attempts
        query = sa.select(table).where(table.c.run_id == run_id)
        if step is not None:
            query = query.where(table.c.step == step)
        query = query.order_by(table.c.started_at, table.c.step, table.c.attempt)
        with self._read() as conn:
            return [_attempt_record(row) for row in conn.execute(query)]

    def replace_steps(
        self,
        steps: Sequence[Mapping[str, Any]],
        attempts: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Write whole ``step_runs`` and ``attempts`` rows (every column given), replacing
        rows with the same key, in one transaction with one statement per kind: the runtime
        records a batch of step events this way (per-row upserts cost milliseconds each). On
        PostgreSQL each table's rows go in one statement (:mod:`.bulk_upsert`). Of two rows
        with one key in ``steps`` (or ``attempts``), the later is written."""
        for row in (*steps, *attempts):
            _check_choice("step status", str(row["status"]), STEP_STATUSES)
        steps = _last_per_key(steps, ("run_id", "step"))
        attempts = _last_per_key(attempts, ("run_id", "step", "attempt"))
        with self._write() as conn:
            if conn.dialect.name == "postgresql":  # one statement per table, not one per row
                for table, rows in ((t.step_runs, steps), (t.attempts, attempts)):
                    if rows:
                        conn.execute(postgres_upsert(table), upsert_params(table, rows))
                return
            if steps:
                conn.execute(
                    _REPLACE.delete_steps,
                    [{"k_run": r["run_id"], "k_step": r["step"]} for r in steps],
                )
                conn.execute(_REPLACE.insert_steps, [dict(r) for r in steps])
            if attempts:
                conn.execute(
                    _REPLACE.delete_attempts,
                    [
                        {"k_run": r["run_id"], "k_step": r["step"], "k_attempt": r["attempt"]}
                        for r in attempts
                    ],
                )
                conn.execute(_REPLACE.insert_attempts, [dict(r) for r in attempts])
