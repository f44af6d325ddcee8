"""Running checks: statuses, severities, blocking, errors, samples, anomaly history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headwater.quality import ChecksFailed, blocking, parse_checks, run_checks, summary
from headwater.quality.runner import SAMPLE_MAX_CHARS, CheckResult


def checks(tmp_path: Path, items: list[dict]):
    return parse_checks(items, path=tmp_path / "m.yml", text="", quarantine_allowed=True)


@pytest.fixture
def table(cur):
    cur.execute(
        "create schema marts; create table marts.t as select i as id, "
        "case when i < 3 then null else 'x' || i end as name, i * 10 as amount from range(100) r(i)"
    )
    return "marts.t"


def test_warn_does_not_block_error_does(tmp_path: Path, cur, table: str) -> None:
    results = run_checks(
        cur,
        "marts.t",
        table,
        checks(
            tmp_path,
            [
                {"type": "not_null", "column": "name", "severity": "warn"},
                {"type": "unique", "column": "id"},
            ],
        ),
    )
    assert [(r.status, r.failing, r.total) for r in results] == [("warn", 3, 100), ("pass", 0, 100)]
    assert not blocking(results)
    assert results[0].message == "3 of 100 rows (3%): name is null"
    assert [row["id"] for row in results[0].sample] == [0, 1, 2]
    failing = run_checks(cur, "marts.t", table, checks(tmp_path, [{"not_null": "name"}]))
    assert failing[0].status == "fail" and blocking(failing)
    with pytest.raises(ChecksFailed) as info:
        raise ChecksFailed("marts.t", results + failing)
    assert (
        str(info.value)
        == "marts.t: 1 check failed: not_null_name (fail: 3 of 100 rows (3%): name is null)"
    )
    assert info.value.retryable is False


def test_error_status_keeps_other_checks_running(tmp_path: Path, cur, table: str) -> None:
    results = run_checks(
        cur,
        "marts.t",
        table,
        checks(
            tmp_path,
            [
                {"not_null": "nope"},
                {"type": "expression", "sql": "amount / 0 > 1", "severity": "warn"},
                {"type": "range", "column": "amount", "min": 0},
            ],
        ),
    )
    assert [r.status for r in results] == ["error", "pass", "pass"]
    assert "nope" in results[0].message and results[0].message.startswith("the check could not run")
    assert blocking(results[:1])  # an error check could not verify the data
    warn_error = checks(tmp_path, [{"not_null": "nope", "severity": "warn"}])
    assert not blocking(run_checks(cur, "marts.t", table, warn_error))


def test_samples_are_bounded(tmp_path: Path, cur) -> None:
    cur.execute(
        "create table wide as select i, repeat('x', 5000) as blob, null as v from range(50) r(i)"
    )
    (result,) = run_checks(cur, "wide", "wide", checks(tmp_path, [{"not_null": "v"}]))
    assert result.failing == 50 and 1 <= len(result.sample) <= 5
    assert len(json.dumps(list(result.sample))) <= SAMPLE_MAX_CHARS
    assert len(result.sample[0]["blob"]) == 201
    (many,) = run_checks(cur, "wide", "wide", checks(tmp_path, [{"not_null": "v"}]), sample_limit=2)
    assert len(many.sample) == 2


def test_result_round_trips_as_dict(tmp_path: Path, cur, table: str) -> None:
    (result,) = run_checks(cur, "marts.t", table, checks(tmp_path, [{"not_null": "name"}]))
    data = json.loads(json.dumps(result.as_dict()))
    assert CheckResult.from_dict(data) == result


def test_anomaly_with_synthetic_history(tmp_path: Path, cur, table: str) -> None:
    spec = checks(tmp_path, [{"type": "row_count_anomaly", "window": 5, "max_z": 3}])
    asked: list[str] = []

    def steady(asset: str) -> list[int]:
        asked.append(asset)
        return [101, 99, 100, 102, 98, 5000]  # newest first; 5000 is outside the window

    (ok,) = run_checks(cur, "marts.t", table, spec, history=steady)
    assert asked == ["marts.t"]
    assert ok.status == "pass" and ok.total == 100
    assert ok.sample[0]["history"] == [101, 99, 100, 102, 98]

    (jump,) = run_checks(cur, "marts.t", table, spec, history=lambda a: [20, 21, 19, 20, 20])
    assert jump.status == "fail" and jump.failing == 1
    assert "standard deviations above the mean 20.0 of the last 5 runs" in jump.message

    (drop,) = run_checks(cur, "marts.t", table, spec, history=lambda a: [500, 510, 490, 505, 495])
    assert drop.status == "fail" and "below" in drop.message

    (young,) = run_checks(cur, "marts.t", table, spec, history=lambda a: [5, 6])
    assert young.status == "pass" and young.message.startswith("not enough history: 2 of 3")

    (flat,) = run_checks(cur, "marts.t", table, spec, history=lambda a: [100, 100, 100])
    assert flat.status == "pass"
    (flat_moved,) = run_checks(cur, "marts.t", table, spec, history=lambda a: [99, 99, 99])
    assert flat_moved.status == "fail"

    (none,) = run_checks(cur, "marts.t", table, spec)  # no history at all
    assert none.status == "pass"

    def broken(asset: str) -> list[int]:
        raise RuntimeError("metastore down")

    (err,) = run_checks(cur, "marts.t", table, spec, history=broken)
    assert err.status == "error" and "metastore down" in err.message


def test_anomaly_warn_severity(tmp_path: Path, cur, table: str) -> None:
    spec = checks(tmp_path, [{"type": "row_count_anomaly", "severity": "warn"}])
    (res,) = run_checks(cur, "marts.t", table, spec, history=lambda a: [20, 21, 19, 20, 20])
    assert res.status == "warn" and not blocking([res])


def test_checks_on_a_temp_table_and_a_view(tmp_path: Path, cur, table: str) -> None:
    cur.execute("create temp table _hw_new as select * from marts.t where id < 10")
    cur.execute("create view marts.v as select * from marts.t where id >= 50")
    spec = checks(tmp_path, [{"not_null": "name"}])
    assert run_checks(cur, "x", "_hw_new", spec)[0].failing == 3
    assert run_checks(cur, "x", "marts.v", spec)[0].status == "pass"


def test_summary_without_blocking() -> None:
    assert summary("a", []) == "a: no checks"


def test_relationships_to_another_asset(tmp_path: Path, cur, table: str) -> None:
    cur.execute("create table marts.dim as select i as id from range(90) r(i)")
    spec = checks(tmp_path, [{"type": "relationships", "column": "id", "to": "marts.dim"}])
    (res,) = run_checks(cur, "marts.t", table, spec)
    assert res.failing == 10 and res.message.endswith("id has no match in marts.dim.id")
