"""A batch of step events as the runtime records it (``replace_steps``): whole rows replace
the rows of their key, on SQLite and on PostgreSQL (one statement per table there) alike:
text with quotes, braces, commas, backslashes, the word NULL and non-ASCII comes back as
written (a long error clipped), NULLs stay NULL, times come back in UTC whatever the
session's zone (Asia/Tokyo here), and of two rows with one key in a batch the later wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from headwater.metastore import Metastore
from headwater.metastore.step_history import clip_error

T0 = datetime(2026, 3, 29, 0, 30, 15, 123456, tzinfo=timezone(timedelta(hours=1)))
TRICKY = 'a, "b" {c} \\ NULL\n' + "é" * 600  # clipped: over 1 KB in UTF-8


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def _step(step: str, status: str, **given: Any) -> dict[str, Any]:
    row = {"run_id": "r1", "step": step, "kind": "model", "status": status, "attempts": 1,
           "started_at": T0, "finished_at": None, "rows_in": None, "rows_out": None,
           "error": None, "log_path": None}  # fmt: skip
    return {**row, **given}


def _attempt(step: str, attempt: int, error: str) -> dict[str, Any]:
    return {"run_id": "r1", "step": step, "attempt": attempt, "status": "failed",
            "started_at": T0, "finished_at": T0 + timedelta(seconds=attempt), "error": error}  # fmt: skip


def test_batches_replace_whole_rows_and_the_later_of_one_key_wins(url: str) -> None:
    with Metastore.open(url) as store:
        store.start_run("r1", project="p", selection=None)
        store.replace_steps([_step("s1", "running"), _step("s2", "running", log_path="x")])
        done = T0 + timedelta(seconds=2)
        store.replace_steps(
            [
                _step("s1", "failed", attempts=2, finished_at=done, error=TRICKY),
                _step("s2", "running", rows_in=1),
                _step("s2", "success", finished_at=done, rows_in=5, rows_out=3),
            ],
            [_attempt("s1", 1, "first"), _attempt("s1", 2, "earlier"), _attempt("s1", 2, "")],
        )
        steps = {s.step: s for s in store.step_runs("r1")}
        attempts = store.attempts("r1")
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            store.replace_steps([_step("s3", "running", started_at=datetime(2026, 3, 1))])
        assert [s.step for s in store.step_runs("r1")] == ["s1", "s2"]  # nothing half-written
    s1, s2 = steps["s1"], steps["s2"]
    assert (s1.status, s1.attempts, s1.error) == ("failed", 2, clip_error(TRICKY))
    assert s1.error is not None and s1.error.startswith('a, "b" {c} \\ NULL\né')
    assert (s2.status, s2.rows_in, s2.rows_out, s2.log_path, s2.error) == (
        "success", 5, 3, None, None,
    )  # fmt: skip
    for s in (s1, s2):
        assert s.started_at == T0 and s.finished_at == done
        assert s.started_at is not None and s.started_at.tzinfo is UTC
    assert [(a.step, a.attempt, a.error) for a in attempts] == [("s1", 1, "first"), ("s1", 2, "")]
