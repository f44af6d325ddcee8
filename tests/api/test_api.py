"""headwater.api, called directly (no CLI): a small project run, then its history, loads,
warehouse, checks and quarantine read and changed through the facade; records compared by
value, and each ``to_json()`` taken whole by ``json.dumps``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headwater import api
from headwater.errors import HeadwaterError, ProjectError, UnknownAssetError

TOML = """
[sources.orders]
files = "data/*.csv"
primary_key = ["id"]
write = "merge"

[[sources.orders.checks]]
type = "not_null"
column = "customer"
on_fail = "quarantine"

[[sources.orders.checks]]
type = "not_null"
column = "id"

[pipelines.daily]
select = ["orders+"]
"""
ROWS = "id,customer,amount\n1,ada,10\n2,,20\n3,grace,30\n4,,40\n"
FILES = {
    "headwater.toml": TOML,
    "data/a.csv": ROWS,
    "models/marts/totals.sql": "select count(*) as orders, sum(amount::integer) as amount from orders",
}


@pytest.fixture
def shop(project_dir) -> Path:  # type: ignore[no-untyped-def]
    return project_dir(FILES)


def test_run_then_history_loads_and_query(shop: Path) -> None:
    project = api.open_project(shop)
    events: list[str] = []
    result = api.run(project, pipeline="daily", on_event=lambda e: events.append(e.kind))
    assert result.status == "success", result.to_json()
    assert set(result.steps) == {"raw.orders", "marts.totals"}
    assert "finished" in events  # progress reached the caller, nothing printed
    assert json.loads(json.dumps(result.to_json()))["steps"]["marts.totals"]["status"] == "success"

    (listed,) = api.runs(project)
    assert (listed.run_id, listed.kind, listed.status, listed.trigger) == (
        result.run_id, "run", "success", "api",
    )  # fmt: skip
    detail = api.show(shop, result.run_id)  # a folder works as well as a Project
    steps = {s.step: s for s in detail.steps}
    assert steps["raw.orders"].rows_out == 2  # rows 2 and 4 went to quarantine
    assert json.loads(json.dumps(detail.to_json()))["run"]["run_id"] == result.run_id

    (load,) = api.loads(project, "orders")
    assert (load.asset, load.run_id, load.rows_read, load.rows_written) == (
        "raw.orders", result.run_id, 4, 2,
    )  # fmt: skip
    assert json.loads(json.dumps(load.to_json()))["loaded_at"] == load.loaded_at.isoformat()

    answer = api.query(project, "select * from marts.totals")
    assert (answer.columns, answer.rows) == (["orders", "amount"], [(2, 40)])
    assert api.query(project, "select * from range(10)", limit=3).rows == [(0,), (1,), (2,)]
    assert api.query(project, "select 1 as one").to_json() == [{"one": 1}]


def test_check_and_retry_of_a_check_run(shop: Path) -> None:
    project = api.open_project(shop)
    api.run(project)
    report = api.check(project, ["orders"])
    assert report.ok and report.skipped == []
    assert [(r.check, r.status) for r in report.results] == [("not_null_id", "pass")]
    assert api.runs(project, limit=1)[0].kind == "check"
    with pytest.raises(ProjectError, match="headwater check"):
        api.retry(project, report.run_id)
    assert json.loads(json.dumps(report.to_json()))["run_id"] == report.run_id


def test_quarantine_listing_rows_release_and_discard(shop: Path) -> None:
    project = api.open_project(shop)
    api.run(project)
    listing = api.quarantine(project)
    assert [(g.table, g.checks, g.rows) for g in listing.quarantined] == [
        ("quarantine.orders", "not_null_customer", 2)
    ]
    assert json.loads(json.dumps(listing.to_json()))["quarantined"][0]["rows"] == 2
    rows = api.quarantined_rows(project, "orders")
    assert sorted(r["id"] for r in rows.to_json()) == ["2", "4"]

    stuck = api.release(project, "orders")  # the rows still fail the check
    assert (stuck.released, stuck.written, stuck.remaining) == (0, 0, 2)
    forced = api.release(project, "orders", force=True, load_id=None)
    assert (forced.asset, forced.released, forced.remaining) == ("raw.orders", 2, 0)
    assert api.query(project, "select count(*) from raw.orders").rows == [(4,)]
    assert api.quarantine(project).quarantined == []
    assert api.discard(project, "orders") == 0


def test_discard_deletes_the_rows(shop: Path) -> None:
    project = api.open_project(shop)
    api.run(project)
    assert api.discard(project, "orders") == 2
    assert api.quarantined_rows(project, "orders").rows == []
    assert api.query(project, "select count(*) from raw.orders").rows == [(2,)]


def test_compile_and_selection_touch_nothing(shop: Path) -> None:
    plan = api.compile(shop, ["orders+"])
    assert plan.steps == [("raw.orders", "source"), ("marts.totals", "view")]
    (model,) = plan.models
    assert model.name == "marts.totals" and "raw.orders" in (model.sql or "")
    assert not (shop / ".headwater").exists()  # compile wrote no cache, no warehouse
    chosen = api.selection(api.open_project(shop), pipeline="daily")
    assert chosen.names == ["raw.orders", "marts.totals"] and chosen.include == ["orders+"]


def test_errors_are_headwater_errors(shop: Path) -> None:
    project = api.open_project(shop)
    with pytest.raises(HeadwaterError, match="no warehouse yet"):
        api.query(project, "select 1")
    with pytest.raises(HeadwaterError, match="no warehouse yet"):
        api.check(project)
    assert not project.warehouse_path.exists()  # neither made an empty warehouse file
    with pytest.raises(ProjectError, match=r"no pipeline 'nightly'.*have: daily"):
        api.run(project, pipeline="nightly")
    with pytest.raises(HeadwaterError, match="no run 'nope'"):
        api.show(project, "nope")
    api.run(project)
    with pytest.raises(UnknownAssetError, match="no source asset 'totals'"):
        api.loads(project, "totals")
    with pytest.raises(ProjectError, match=r"no headwater\.toml"):
        api.open_project(shop / "missing")
