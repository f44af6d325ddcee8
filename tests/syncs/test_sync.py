"""Reverse ETL into real PostgreSQL and MariaDB: inserts, updates, deletes (on and off), a
dry run that changes nothing, a rerun that writes nothing, and a sync that fails in the
target then succeeds on retry with exactly the model's rows."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from targets import PASSWORD, TARGET_DDL, Target, invoke, make_project, run, set_model

from headwater.testing.servers import mariadb_available, postgres_available

FIRST = [(1, "ada", 10.5), (2, "bob", 20.0), (3, "cy", 30.25)]
# 1 unchanged, 2 updated, 3 gone, 4 new
SECOND = [(1, "ada", 10.5), (2, "bob", 21.0), (4, "dee", 40.0)]


@pytest.fixture(params=["postgres", "mariadb"])
def target(request: pytest.FixtureRequest) -> Target:
    if request.param == "postgres":
        if not postgres_available():
            pytest.skip("PostgreSQL is not installed")
        url = request.getfixturevalue("postgres_url")
    else:
        if not mariadb_available():
            pytest.skip("MariaDB is not installed")
        url = request.getfixturevalue("mariadb_url")
    db = Target(url)
    db.execute(TARGET_DDL)
    return db


def content(db: Target) -> list[tuple[Any, ...]]:
    rows = db.rows("select customer_id, name, score from customer_features order by 1")
    return [(int(i), n, Decimal(s)) for i, n, s in rows]


def expected(rows: list[tuple[int, str, float]]) -> list[tuple[Any, ...]]:
    return [(i, n, Decimal(str(s)).quantize(Decimal("0.01"))) for i, n, s in sorted(rows)]


def history(root: Path) -> list[dict[str, Any]]:
    found = invoke("sync", "to_crm", "--history", "-f", "json", "-p", str(root))
    assert found.exit_code == 0, found.output
    return list(json.loads(found.stdout))


def test_inserts_updates_and_deletes(tmp_path: Path, target: Target) -> None:
    root = make_project(tmp_path / "p", target.url, FIRST, deletes=True)
    assert run(root).exit_code == 0
    assert content(target) == expected(FIRST)
    set_model(root, SECOND)
    done = run(root)
    assert done.exit_code == 0, done.output
    assert content(target) == expected(SECOND)
    last = history(root)[0]
    assert (last["inserted"], last["updated"], last["deleted"]) == (1, 1, 1)
    assert last["rows_read"] == 3
    loads = json.loads(invoke("loads", "-f", "json", "-p", str(root)).stdout)
    assert [ld["rows_written"] for ld in loads if ld["asset"] == "sync.to_crm"] == [3, 3]


def test_without_deletes_rows_gone_from_the_model_stay(tmp_path: Path, target: Target) -> None:
    root = make_project(tmp_path / "p", target.url, FIRST)
    assert run(root).exit_code == 0
    set_model(root, SECOND)
    assert run(root).exit_code == 0
    assert content(target) == expected([*SECOND, FIRST[2]])
    assert history(root)[0]["deleted"] == 0


def test_dry_run_prints_the_changes_and_changes_nothing(tmp_path: Path, target: Target) -> None:
    root = make_project(tmp_path / "p", target.url, FIRST, deletes=True)
    assert run(root).exit_code == 0
    set_model(root, SECOND)
    assert run(root, "-s", "marts.customer_features").exit_code == 0  # the model, not the sync
    shown = invoke("sync", "to_crm", "--dry-run", "-p", str(root))
    assert shown.exit_code == 0, shown.output
    assert "1 to insert, 1 to update, 1 to delete" in shown.stdout
    assert "dee" in shown.stdout and "21" in shown.stdout  # the sample rows
    plan = json.loads(invoke("sync", "to_crm", "--dry-run", "-f", "json", "-p", str(root)).stdout)
    assert (plan["inserts"], plan["updates"], plan["deletes"]) == (1, 1, 1)
    assert plan["sample"]["deletes"] == [{"customer_id": 3}]
    assert content(target) == expected(FIRST)  # nothing written
    assert len(history(root)) == 1  # nor recorded
    done = invoke("sync", "to_crm", "-p", str(root))  # the sync itself still has it all to do
    assert done.exit_code == 0, done.output
    assert content(target) == expected(SECOND)


def test_a_rerun_writes_nothing(tmp_path: Path, target: Target) -> None:
    root = make_project(tmp_path / "p", target.url, FIRST, deletes=True)
    assert run(root).exit_code == 0
    if not target.mysql:  # the row versions: an UPDATE of the same values makes a new one
        before = target.rows("select customer_id, xmin::text from customer_features order by 1")
    assert run(root).exit_code == 0
    last = history(root)[0]
    assert (last["inserted"], last["updated"], last["deleted"]) == (0, 0, 0)
    assert content(target) == expected(FIRST)
    if not target.mysql:
        after = target.rows("select customer_id, xmin::text from customer_features order by 1")
        assert after == before


def test_a_failed_sync_changes_nothing_and_its_retry_gives_the_model(
    tmp_path: Path, target: Target
) -> None:
    root = make_project(tmp_path / "p", target.url, FIRST, deletes=True, batch_size=1)
    assert run(root).exit_code == 0
    # many batches of changes, one of which the target's CHECK (score >= 0) refuses
    bad = [(i, f"n{i}", float(i)) for i in range(5, 60)] + [(60, "neg", -1.0)]
    set_model(root, [*SECOND, *bad])
    failed = run(root)
    assert failed.exit_code == 5
    assert content(target) == expected(FIRST)  # one target transaction: all or nothing
    shown = invoke("show", "--format", "json", _last_run(root), "-p", str(root))
    error = next(
        s["error"] for s in json.loads(shown.stdout)["steps"] if s["step"] == "sync.to_crm"
    )
    assert "connection 'crm'" in error and PASSWORD not in error
    logs = "".join(p.read_text() for p in (root / ".headwater/logs").rglob("*.log"))
    assert PASSWORD not in logs and PASSWORD not in failed.output
    target.execute("alter table customer_features drop constraint score_nonneg")
    retried = invoke("retry", _last_run(root), "-p", str(root))
    assert retried.exit_code == 0, retried.output
    assert content(target) == expected([*SECOND, *bad])
    last = history(root)[0]
    assert (last["inserted"], last["updated"], last["deleted"]) == (1 + len(bad), 1, 1)


def test_an_unknown_sync_is_one_line_exit_2(tmp_path: Path, target: Target) -> None:
    root = make_project(tmp_path / "p", target.url, FIRST)
    found = invoke("sync", "to_cmr", "-p", str(root))
    assert found.exit_code == 2
    assert "no sync 'to_cmr'" in found.output and "to_crm" in found.output
    assert "Traceback" not in found.output


def _last_run(root: Path) -> str:
    runs = json.loads(invoke("runs", "-f", "json", "-p", str(root)).stdout)
    return str(runs[0]["run_id"])
