"""The query page against the session's server: a SELECT's table and its chart (Chromium),
CSV and Parquet downloads equal to the query's answer (read back with pyarrow), a write
statement refused in one line, and the downloads' row limit. Read-only: the statements
read generated rows (``range``), so the shared server's project is left as it was."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from ui_server import Session, UIServer

SQL = (
    "select i as n, i * 2.5 as half_again, 'row ' || i as label, date '2026-01-01' + i::int as day "
    "from range(1500) t(i) order by n"
)


def test_a_query_shows_its_table_and_charts_it(
    logged_in: Callable[[str], Any], ui_server: UIServer
) -> None:
    page = logged_in("viewer")  # read-only: a viewer may query
    page.goto(ui_server.url + "/query")
    page.fill("#sql", "select i as day_no, i * i as squared from range(12) t(i)")
    page.click("button:text('Run')")
    page.wait_for_selector("table[aria-label=result]")
    rows = page.locator("table[aria-label=result] tbody tr")
    assert rows.count() == 12
    assert rows.nth(3).locator("td").all_inner_texts() == ["3", "9"]
    assert page.inner_text("#row-count").startswith("12 rows")
    for kind in ("bar", "line", "scatter"):
        page.select_option("#chart-form select[name=kind]", kind)
        page.click("#chart-form button")
        page.wait_for_selector("#query-chart .uplot canvas")
        assert page.inner_text("#chart-status") == f"Drew a {kind} chart of squared by day_no."
        assert page.locator("#query-chart .uplot").count() == 1  # redrawn, not stacked


def test_the_table_shows_its_row_cap(as_role: Callable[[str], Session]) -> None:
    found = as_role("viewer").get("/query", params={"sql": SQL})
    assert found.status_code == 200
    assert "More than 1000 rows: the first 1000 are shown" in found.text
    assert found.text.count("<tr>") == 1 + 1000  # the header, then the rows shown


def test_csv_and_parquet_downloads_equal_the_query(
    as_role: Callable[[str], Session], ui_server: UIServer
) -> None:
    viewer = as_role("viewer")
    with ui_server.api() as api:
        answer = api.post("/api/query", json={"sql": SQL}).json()
    expected = {c: [r[i] for r in answer["rows"]] for i, c in enumerate(answer["columns"])}
    assert len(expected["n"]) == 1500

    csv = viewer.get("/api/query/export", params={"sql": SQL, "format": "csv"})
    assert csv.status_code == 200, csv.text
    assert csv.headers["content-type"].startswith("text/csv")
    assert 'filename="query.csv"' in csv.headers["content-disposition"]
    from_csv = pacsv.read_csv(io.BytesIO(csv.content)).to_pydict()
    parquet = viewer.get("/api/query/export", params={"sql": SQL, "format": "parquet"})
    assert parquet.status_code == 200, parquet.text
    from_parquet = pq.read_table(io.BytesIO(parquet.content)).to_pydict()

    for got in (from_csv, from_parquet):
        assert list(got) == answer["columns"]
        assert got["n"] == expected["n"] and got["label"] == expected["label"]
        assert got["half_again"] == [float(v) for v in expected["half_again"]]
        assert [str(d) for d in got["day"]] == expected["day"]


def test_the_page_links_its_downloads(as_role: Callable[[str], Session]) -> None:
    html = as_role("viewer").get("/query", params={"sql": "select 1 as one"}).text
    for fmt in ("csv", "parquet"):
        link = "/api/query/export?" + urlencode({"sql": "select 1 as one", "format": fmt})
        assert link.replace("&", "&amp;") in html


def test_a_write_statement_is_refused_in_one_line(
    as_role: Callable[[str], Session], logged_in: Callable[[str], Any], ui_server: UIServer
) -> None:
    page = logged_in("operator")
    page.goto(ui_server.url + "/query")
    page.fill("#sql", "create table main.sneaky as select 1 as x")
    page.click("button:text('Run')")
    error = page.inner_text("#query-error")
    assert error.startswith("query refused: a CREATE statement") and "\n" not in error
    assert page.locator("table[aria-label=result]").count() == 0
    refused = as_role("admin").get(
        "/api/query/export", params={"sql": "drop table if exists x", "format": "csv"}
    )
    assert refused.status_code == 400
    assert refused.json()["error"].startswith("query refused: a DROP statement")
    with ui_server.api() as api:  # nothing was created
        gone = api.post("/api/query", json={"sql": "select * from main.sneaky"})
    assert gone.status_code == 400 and "sneaky" in gone.json()["error"]


def test_the_download_row_limit(as_role: Callable[[str], Session]) -> None:
    capped = as_role("viewer").get(
        "/api/query/export", params={"sql": SQL, "format": "csv", "limit": 10}
    )
    assert capped.headers["x-headwater-row-cap"] == "10"
    assert pacsv.read_csv(io.BytesIO(capped.content)).num_rows == 10


def test_no_file_outside_the_warehouse_is_read(
    as_role: Callable[[str], Session], ui_server: UIServer
) -> None:
    # a viewer reading headwater.toml (a connection's password) or server.json (the admin
    # token) through a SELECT: DuckDB would read any file the server can
    from ui_server import SECRET

    viewer = as_role("viewer")
    toml = ui_server.root / "headwater.toml"
    token_file = ui_server.root / ".headwater" / "server.json"
    assert SECRET in toml.read_text()
    reads = [
        f"select * from read_text('{toml}')",
        f"select content from read_text('{toml}') where content like '%app:%'",
        f"select * from '{token_file}'",
        f"select * from read_csv('{toml}', header=false, columns={{'line': 'VARCHAR'}})",
    ]
    for sql in reads:
        page = viewer.get("/query", params={"sql": sql})
        assert page.status_code == 200 and "query refused" in page.text, sql
        api = viewer.client.get("/api/query", params={"sql": sql})
        export = viewer.get("/api/query/export", params={"sql": sql, "format": "csv"})
        for answer in (api, export):
            assert answer.status_code == 400, (sql, answer.text)
            assert answer.json()["error"].startswith("query refused: ")
        for body in (page.text, api.text, export.text):
            assert SECRET not in body and ui_server.token not in body
