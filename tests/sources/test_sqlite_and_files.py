"""Source loads: incremental cursors, write dispositions, file state, bad lines."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import query_warehouse as table

TOML = """
[connections.shop]
url = "sqlite:///shop.sqlite"

[sources.shop]
connection = "shop"
tables = ["customers"]
primary_key = ["id"]
cursor = "updated_at"
write = "{write}"
"""


def make_db(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path)
    con.execute(
        "create table customers (id integer primary key, email text, balance numeric(12,2), "
        "score real, active boolean, updated_at text)"
    )
    con.executemany(
        "insert into customers values (?, ?, ?, ?, ?, ?)",
        [
            (1, "a@x", "10.50", 0.5, 1, "2026-01-01 10:00:00"),
            (2, "b@x", "20.00", 1.5, 0, "2026-01-02 10:00:00"),
            (3, "c@x", None, None, None, "2026-01-02 10:00:00"),
        ],
    )
    con.commit()
    return con


@pytest.fixture
def shop(project_dir):
    def make(write: str = "merge", extra: str = "") -> tuple[Path, sqlite3.Connection]:
        root = project_dir({"headwater.toml": TOML.format(write=write) + extra})
        return root, make_db(root / "shop.sqlite")

    return make


def test_types_follow_declared_affinity(shop):
    root, _ = shop()
    assert run(load_project(root)).status == "success"
    types = dict(
        table(
            root,
            "select column_name, data_type from information_schema.columns "
            "where table_name = 'shop_customers'",
        )
    )
    assert types["id"] == "BIGINT" and types["balance"] == "DECIMAL(12,2)"
    assert types["score"] == "DOUBLE" and types["active"] == "BOOLEAN"
    assert types["_hw_load_id"] == "BIGINT" and types["_hw_loaded_at"] == "TIMESTAMP WITH TIME ZONE"
    assert table(root, "select balance::varchar from raw.shop_customers order by id") == [
        ("10.50",),
        ("20.00",),
        (None,),
    ]


def test_merge_loads_only_new_rows_and_rerun_changes_nothing(shop):
    root, con = shop()
    first = run(load_project(root))
    assert first.steps["raw.shop_customers"].result["rows_out"] == 3
    con.execute(
        "update customers set email = 'b2@x', updated_at = '2026-01-03 09:00:00' where id = 2"
    )
    con.execute("insert into customers values (4, 'd@x', 1, 1, 1, '2026-01-03 09:00:00')")
    con.commit()
    second = run(load_project(root))
    res = second.steps["raw.shop_customers"].result
    # the window is cursor >= last mark: row 3 (at the mark) is re-read but not rewritten
    assert res["rows_in"] == 3 and res["rows_out"] == 2
    rows = table(root, "select id, email from raw.shop_customers order by id")
    assert rows == [(1, "a@x"), (2, "b2@x"), (3, "c@x"), (4, "d@x")]
    before = table(root, "select id, _hw_load_id from raw.shop_customers order by id")
    third = run(load_project(root))
    assert third.steps["raw.shop_customers"].result["rows_out"] == 0
    assert table(root, "select id, _hw_load_id from raw.shop_customers order by id") == before
    state = table(
        root, "select state->>'cursor' from _headwater.state where asset = 'raw.shop_customers'"
    )
    assert state == [("2026-01-03 09:00:00",)]


def test_append_uses_exclusive_cursor(shop):
    root, con = shop(write="append")
    run(load_project(root))
    con.execute("insert into customers values (4, 'd@x', 1, 1, 1, '2026-01-05 00:00:00')")
    con.commit()
    run(load_project(root))
    run(load_project(root))
    assert table(root, "select count(*), count(distinct id) from raw.shop_customers") == [(4, 4)]


def test_replace_swaps_content(shop):
    root, con = shop(write="replace")
    run(load_project(root))
    con.execute("delete from customers where id = 1")
    con.commit()
    run(load_project(root))
    assert table(root, "select id from raw.shop_customers order by id") == [(2,), (3,)]


def test_replace_with_the_same_rows_rewrites_nothing(shop):
    root, _ = shop(write="replace")
    run(load_project(root))
    before = table(root, "select id, _hw_load_id from raw.shop_customers order by id")
    second = run(load_project(root))
    assert second.steps["raw.shop_customers"].result["rows_out"] == 0
    assert table(root, "select id, _hw_load_id from raw.shop_customers order by id") == before


def test_replace_sees_values_moved_between_rows_and_columns(shop):
    """Every column keeps the same values overall, only their rows change: the rows differ,
    so the table is rewritten."""
    root, con = shop(write="replace")
    run(load_project(root))
    con.execute(
        "update customers set email = case id when 1 then 'b@x' when 2 then 'a@x' end "
        "where id in (1, 2)"
    )
    con.commit()
    assert run(load_project(root)).steps["raw.shop_customers"].result["rows_out"] == 3
    assert table(root, "select id, email from raw.shop_customers order by id") == [
        (1, "b@x"),
        (2, "a@x"),
        (3, "c@x"),
    ]
    # two values of one row trade columns: score 0.5 and balance 10.50 of row 1
    con.execute("update customers set balance = 0.5, score = 10.5 where id = 1")
    con.commit()
    assert run(load_project(root)).steps["raw.shop_customers"].result["rows_out"] == 3


def test_value_that_does_not_fit_its_type_is_named(shop):
    root, con = shop()
    con.execute("insert into customers values (5, 'e@x', 'lots', 1, 1, '2026-01-09 00:00:00')")
    con.commit()
    result = run(load_project(root))
    error = result.steps["raw.shop_customers"].error or ""
    assert result.steps["raw.shop_customers"].status == "failed"
    assert "table 'customers'" in error and "column 'balance'" in error and "'lots'" in error
    assert "row 4" in error  # the 4th row read, ordered by the cursor
    assert table(
        root, "select count(*) from information_schema.tables where table_name = 'shop_customers'"
    ) == [(0,)]


def test_missing_cursor_column_is_named(shop):
    root, _ = shop(extra='\n[sources.shop.table_options.customers]\ncursor = "modified"\n')
    result = run(load_project(root))
    error = result.steps["raw.shop_customers"].error or ""
    assert "cursor column 'modified' does not exist" in error


CSV_TOML = """
[sources.orders]
files = "drops/*/orders.csv"
primary_key = ["id"]
cursor = "updated_at"
write = "merge"
"""


def test_csv_drops_incremental_by_file_with_bad_lines_recorded(project_dir):
    root = project_dir(
        {
            "headwater.toml": CSV_TOML,
            "drops/d1/orders.csv": "id,status,updated_at\n1,new,2026-01-01\n2,new,2026-01-01\n2,new,2026-01-01\n3,x,y,z\n",
        }
    )
    first = run(load_project(root))
    res = first.steps["raw.orders"].result
    # 3 rows read: ids 1, 2 and 2 again (a re-sent line, superseded by its copy: counted,
    # not rejected, as its values are in the table); the 4-column line is rejected
    assert (res["rows_in"], res["rows_out"], res["rows_rejected"]) == (3, 2, 1)
    assert res["rows_superseded"] == 1
    rejects = table(
        root, "select file, line, error, raw from _headwater.rejected_rows order by line nulls last"
    )
    (malformed,) = rejects
    assert malformed[:2] == ("drops/d1/orders.csv", 5) and malformed[3] == "3,x,y,z"
    assert "TOO MANY COLUMNS" in malformed[2]
    (root / "drops/d2").mkdir()
    (root / "drops/d2/orders.csv").write_text(
        "id,status,updated_at\n2,paid,2026-01-02\n4,new,2026-01-02\n"
    )
    second = run(load_project(root))
    assert second.steps["raw.orders"].result["rows_in"] == 2  # only the new file is read
    assert table(root, "select id, status, _hw_file from raw.orders order by id") == [
        ("1", "new", "drops/d1/orders.csv"),
        ("2", "paid", "drops/d2/orders.csv"),
        ("4", "new", "drops/d2/orders.csv"),
    ]
    assert run(load_project(root)).steps["raw.orders"].result["rows_in"] == 0


def test_older_row_never_overwrites_newer(project_dir):
    root = project_dir(
        {
            "headwater.toml": CSV_TOML,
            "drops/d2/orders.csv": "id,status,updated_at\n1,paid,2026-01-02\n",
        }
    )
    run(load_project(root))
    (root / "drops/d1").mkdir()
    (root / "drops/d1/orders.csv").write_text("id,status,updated_at\n1,new,2026-01-01\n")
    run(load_project(root))
    assert table(root, "select status from raw.orders") == [("paid",)]


def test_bad_line_can_fail_the_load(project_dir):
    root = project_dir(
        {
            "headwater.toml": CSV_TOML + 'on_bad_line = "fail"\n',
            "drops/d1/orders.csv": "id,status,updated_at\n1,new,2026-01-01\n2,x,y,z\n",
        }
    )
    result = run(load_project(root))
    error = result.steps["raw.orders"].error or ""
    assert result.steps["raw.orders"].status == "failed"
    assert "drops/d1/orders.csv:3: TOO MANY COLUMNS" in error


def test_gzip_hive_folders_and_typed_columns(project_dir):
    import gzip

    root = project_dir(
        {
            "headwater.toml": '[sources.ev]\nfiles = "drops/*/ev.csv.gz"\nwrite = "append"\nhive_partitioning = true\n'
            '[sources.ev.column_types]\nid = "BIGINT"\nat = "DATE"\n',
        }
    )
    folder = root / "drops/day=2026-11-20"
    folder.mkdir(parents=True)
    with gzip.open(folder / "ev.csv.gz", "wt") as fh:
        fh.write("id,at\n1,2026-11-20\nx,2026-11-20\n3,not a date\n4,2026-11-19\n")
    result = run(load_project(root)).steps["raw.ev"]
    assert result.status == "success", result.error
    assert table(root, 'select id, "at"::varchar, "day"::varchar from raw.ev order by id') == [
        (1, "2026-11-20", "2026-11-20"),
        (4, "2026-11-19", "2026-11-20"),
    ]
    rejected = table(root, 'select line, "column", raw from _headwater.rejected_rows order by line')
    assert rejected == [(3, "id", "x,2026-11-20"), (4, "at", "3,not a date")]


JSON_TOML = """
[sources.events]
files = "drops/*/events.jsonl*"
format = "jsonl"
primary_key = ["id"]
write = "merge"
"""


def test_malformed_json_lines_are_recorded_with_their_own_line(project_dir):
    """DuckDB names the line after a malformed one and would load it as NULLs if told to
    ignore errors: each bad line is recorded with its file and line, the good ones load."""
    import gzip

    root = project_dir(
        {
            "headwater.toml": JSON_TOML,
            "drops/d1/events.jsonl": '{"id": 1, "kind": "a"}\n{"id": 2, "kind": "b"}\nnot json\n'
            '\n{"id": 3, "kind": "c"\n[5]\n{"id": 6, "kind": "f"}\n',
            "drops/d2/events.jsonl": '{"id": 7, "kind": "g"}\n',
        }
    )
    with gzip.open(root / "drops/d2/events.jsonl.gz", "wt") as gz:
        gz.write('{"id": 8, "kind": "h"}\n{"id": 9,\n')
    result = run(load_project(root))
    step = result.steps["raw.events"]
    assert step.status == "success", step.error
    assert (step.result["rows_in"], step.result["rows_rejected"]) == (5, 4)
    assert table(root, "select id, kind, _hw_file from raw.events order by id") == [
        (1, "a", "drops/d1/events.jsonl"),
        (2, "b", "drops/d1/events.jsonl"),
        (6, "f", "drops/d1/events.jsonl"),
        (7, "g", "drops/d2/events.jsonl"),
        (8, "h", "drops/d2/events.jsonl.gz"),
    ]
    rejects = table(
        root, "select file, line, error, raw from _headwater.rejected_rows order by all"
    )
    assert [(r[0], r[1], r[3]) for r in rejects] == [
        ("drops/d1/events.jsonl", 3, "not json"),
        ("drops/d1/events.jsonl", 5, '{"id": 3, "kind": "c"'),
        ("drops/d1/events.jsonl", 6, "[5]"),
        ("drops/d2/events.jsonl.gz", 2, '{"id": 9,'),
    ]
    assert rejects[2][2] == "not a JSON object"
    # the files are remembered: nothing is read (or rejected) again
    again = run(load_project(root)).steps["raw.events"].result
    assert (again["rows_in"], again["rows_rejected"]) == (0, 0)


def test_a_malformed_json_line_can_fail_the_load(project_dir):
    root = project_dir(
        {
            "headwater.toml": JSON_TOML + 'on_bad_line = "fail"\n',
            "drops/d1/events.jsonl": '{"id": 1}\n{"id": 2}\nnot json\n{"id": 4}\n',
        }
    )
    result = run(load_project(root))
    error = result.steps["raw.events"].error or ""
    assert result.steps["raw.events"].status == "failed"
    assert "drops/d1/events.jsonl:3: malformed JSON: Expecting value at column 1" in error
    assert table(
        root, "select count(*) from information_schema.tables where table_name = 'events'"
    ) == [(0,)]
