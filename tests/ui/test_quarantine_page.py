"""The quarantine page against a server of its own project (it changes the quarantine): a
files source whose not_null check quarantines rows with no customer, over two loads. An
operator narrows to one load and discards its row, releases rows that still fail (nothing
is loaded), then, with the check changed on disk, releases them into the table; every
action only after its confirmation page. A viewer sees the rows but no button and is
refused the confirmation page and the POSTs (403)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asset_projects import Served
from served_roles import login_as, serve_with_roles, session_as

from headwater.testing.cli import invoke, write_project

TOML = """
[sources.orders]
files = "data/*.csv"
primary_key = ["id"]
write = "merge"

[[sources.orders.checks]]
name = "has_customer"
type = "not_null"
column = "{column}"
on_fail = "quarantine"
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("quarantine") / "shop"
    write_project(
        root,
        {
            "headwater.toml": TOML.format(column="customer"),
            "data/a.csv": "id,customer,amount\n1,ada,10\n2,,20\n3,,30\n4,bo,40\n",
        },
        name="qshop",
    )
    for extra in (None, "data/b.csv"):
        if extra:  # the second load brings one more row without a customer
            (root / extra).write_text("id,customer,amount\n5,,50\n6,cy,60\n")
        done = invoke("run", "-p", str(root))
        assert done.exit_code == 0, done.output
    server = serve_with_roles(root)
    yield server
    server.stop()


def _rows(page: Any) -> list[dict[str, str]]:
    table = page.get_by_role("table", name="quarantined rows", exact=True)
    heads = table.locator("thead th").all_inner_texts()
    cells = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
    )
    return [dict(zip(heads, row, strict=True)) for row in cells]


def _in_table(served: Served) -> list[int]:
    with served.api() as api:
        found = api.post("/api/query", json={"sql": "select id::int from raw.orders order by 1"})
    return [r[0] for r in found.json()["rows"]]


def test_a_viewer_sees_the_rows_but_may_not_act(served: Served, page: Any) -> None:
    login_as(page, served, "viewer")
    page.goto(served.url + "/quarantine")
    page.click("table[aria-label='quarantined assets'] a:text('raw.orders')")
    page.wait_for_selector("table[aria-label='quarantined rows']")
    assert sorted(r["id"] for r in _rows(page)) == ["2", "3", "5"]
    assert {r["check"] for r in _rows(page)} == {"has_customer"}
    assert page.get_by_text("Release").count() == 0 and page.get_by_text("Discard").count() == 0
    viewer = session_as(served, "viewer")
    try:
        assert viewer.get("/quarantine/raw.orders/confirm?action=discard").status_code == 403
        posted = viewer.post("/quarantine/raw.orders/discard", data={"confirm": "yes"})
        assert posted.status_code == 403
    finally:
        viewer.client.close()
    with served.api() as api:
        assert api.get("/api/quarantine/raw.orders/page").json()["total"] == 3


def test_an_unconfirmed_post_only_leads_to_the_confirmation(served: Served) -> None:
    operator = session_as(served, "operator")
    try:
        posted = operator.post("/quarantine/raw.orders/discard", data={"check": "has_customer"})
        assert posted.status_code == 303
        assert "/quarantine/raw.orders/confirm?action=discard" in posted.headers["location"]
        no_csrf = operator.post(
            "/quarantine/raw.orders/discard", data={"confirm": "yes"}, csrf=False
        )
        assert no_csrf.status_code == 403
    finally:
        operator.client.close()
    with served.api() as api:
        assert api.get("/api/quarantine/raw.orders/page").json()["total"] == 3


def test_an_operator_discards_a_load_then_releases_after_the_check_changed(
    served: Served, page: Any
) -> None:
    login_as(page, served, "operator")
    page.goto(served.url + "/quarantine?asset=raw.orders")
    newest = _rows(page)[0]
    assert newest["id"] == "5"  # newest first: the second load's row
    page.click(f"table[aria-label='quarantined rows'] a:text-is('{newest['load_id']}')")
    assert [r["id"] for r in _rows(page)] == ["5"]

    page.click("a:text('Discard 1…')")
    assert "Discard 1 quarantined row of raw.orders" in page.inner_text("#what")
    page.click("button:text('Yes, discard 1 row')")
    assert page.inner_text("#done") == "Discarded 1 row of raw.orders."
    assert sorted(r["id"] for r in _rows(page)) == ["2", "3"]

    page.click("a:text('Release 2…')")  # the check still fails: nothing is loaded
    page.click("button:text('Yes, release 2 rows')")
    assert "Released 0 rows into raw.orders; 2 still fail" in page.inner_text("#done")
    assert 2 not in _in_table(served)

    toml = served.root / "headwater.toml"
    toml.write_text(toml.read_text().replace('column = "customer"', 'column = "id"'))
    page.click("a:text('Release 2…')")
    page.click("a:text('Cancel')")  # cancelling changes nothing
    assert len(_rows(page)) == 2
    page.click("a:text('Release 2…')")
    page.click("button:text('Yes, release 2 rows')")
    assert page.inner_text("#done") == "Released 2 rows into raw.orders."
    assert page.get_by_text("Nothing is in quarantine.").is_visible()
    assert _in_table(served) == [1, 2, 3, 4, 6]
    with served.api() as api:
        assert api.get("/api/quarantine/assets").json() == []


def test_the_quarantine_json_pages(served: Served, tmp_path: Path) -> None:
    with served.api() as api:
        assets = api.get("/api/quarantine/assets")
        missing = api.get("/api/quarantine/nope/page")
    assert assets.status_code == 200 and isinstance(assets.json(), list)
    assert missing.status_code == 404 and "nope" in missing.json()["error"]
