"""Check results in the metastore: record, read back, row-count history for anomalies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from headwater.metastore import Metastore
from headwater.quality.history import (
    check_results,
    ensure_table,
    history,
    record,
    row_count_history,
    to_rows,
)
from headwater.quality.runner import CheckResult

T0 = datetime(2026, 1, 1, 6, tzinfo=UTC)


def result(
    check: str,
    status: str = "pass",
    *,
    total: int = 100,
    asset: str = "raw.orders",
    type_: str = "not_null",
    failing: int = 0,
) -> CheckResult:
    return CheckResult(
        check=check,
        asset=asset,
        type=type_,
        severity="error",
        status=status,  # type: ignore[arg-type]
        failing=failing,
        total=total,
        sample=({"id": 1, "email": None},) if failing else (),
        message=f"{failing} of {total} rows",
        duration=0.0123,
    )


@pytest.fixture
def engine_sa():
    store = Metastore.open("sqlite://")  # the real metastore (runs, step_runs, ...) in memory
    for n in range(10):  # results reference their run
        store.start_run(f"run{n}", project="p", selection=None)
    yield store.engine
    store.close()


def test_record_and_read_back(engine_sa) -> None:
    first = result("not_null_email", "fail", failing=3)
    record(engine_sa, [first, result("unique_id")], "run1", at=T0)
    record(engine_sa, [result("not_null_email")], "run2", at=T0 + timedelta(days=1))
    rows = history(engine_sa, "not_null_email", 10)
    assert [(r.run_id, r.result.status, r.at) for r in rows] == [
        ("run2", "pass", T0 + timedelta(days=1)),
        ("run1", "fail", T0),
    ]
    assert rows[1].result == replace(first, duration=0.012)  # kept to the millisecond
    assert rows[1].step == "raw.orders"
    assert history(engine_sa, "not_null_email", 1)[0].run_id == "run2"
    assert history(engine_sa, "not_null_email", 10, asset="raw.other") == []


def test_a_retried_step_replaces_its_rows(engine_sa) -> None:
    record(engine_sa, [result("c", "fail", failing=2)], "run1", at=T0)
    record(engine_sa, [result("c", "pass")], "run1", at=T0 + timedelta(minutes=1))
    rows = history(engine_sa, "c", 10)
    assert [(r.run_id, r.result.status) for r in rows] == [("run1", "pass")]


def test_row_count_history_skips_failed_runs(engine_sa) -> None:
    counts = [(100, "pass"), (110, "warn"), (9000, "fail"), (120, "pass"), (None, "error")]
    for day, (total, status) in enumerate(counts):
        r = result("row_count_anomaly", status, total=total or 0, type_="row_count_anomaly")
        if total is None:
            r = replace(r, total=None)
        record(
            engine_sa,
            [r, result("not_null_email", total=5)],
            f"run{day}",
            at=T0 + timedelta(days=day),
        )
    get = row_count_history(engine_sa)
    assert get("raw.orders") == [120, 110, 100]  # newest first, no anomaly, no error
    assert row_count_history(engine_sa, limit=2)("raw.orders") == [120, 110]
    assert get("raw.other") == []


def test_columns_and_rows() -> None:
    assert [c.name for c in check_results.columns] == [
        "run_id",
        "asset",
        "check_name",
        "step",
        "check_type",
        "severity",
        "status",
        "failing",
        "total",
        "quarantined",
        "message",
        "sample",
        "duration_ms",
        "at",
    ]
    (row,) = to_rows([result("c", "fail", failing=1)], "run1", step="raw.orders", at=T0)
    assert row["sample"] == '[{"id": 1, "email": null}]' and row["duration_ms"] == 12
    assert {c.name for c in check_results.columns} == set(row)


def test_works_on_a_file_database(tmp_path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.sqlite'}")
    ensure_table(engine)
    record(engine, [result("c")], "run1")
    assert history(engine, "c")[0].at.tzinfo is not None
    engine.dispose()
