"""A source whose later file adds a column, changes a type or drops a column: each change, and
what the schema contract did about it, is in the step's log, the run summary and
``headwater loads``."""

from __future__ import annotations

import json
from pathlib import Path

from load_report import Seen, loads_rows, run_and_look

from headwater.testing.cli import invoke, query_warehouse

CSV = """
[sources.orders]
files = "drops/*/orders.csv"
primary_key = ["id"]
write = "merge"
{extra}
"""


def _drop(root: Path, day: str, name: str, text: str) -> None:
    folder = root / "drops" / day
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def _in_log_and_summary(seen: Seen, *changes: str) -> None:
    """Each of ``changes`` in the step's log and the run's summary."""
    for change in changes:
        assert f"schema change: {change}" in seen.log, (change, seen.log)
        assert f"schema change {change}" in seen.summary, (change, seen.summary)


def test_a_csv_file_that_adds_and_drops_columns(project_dir):
    root = project_dir({"headwater.toml": CSV.format(extra="")})
    _drop(root, "d1", "orders.csv", "id,status,note\n1,new,first\n")
    first = run_and_look(root, "raw.orders")
    assert "schema change" not in first.log + first.summary
    assert loads_rows(first.loads)[0]["schema changes"] == ""
    _drop(root, "d2", "orders.csv", "id,status,channel\n2,new,web\n")
    seen = run_and_look(root, "raw.orders")
    added = "raw.orders: new column 'channel' (VARCHAR): column added"
    dropped = "raw.orders: column 'note' (VARCHAR) is no longer in the source: column kept, NULL"
    _in_log_and_summary(seen, added, dropped)
    assert "schema changes=2" in seen.summary  # on the step's line too
    shown = loads_rows(seen.loads)[0]["schema changes"]
    assert "channel new -> VARCHAR: column added" in shown
    assert "note VARCHAR -> gone: column kept, NULL in the new rows" in shown
    recorded = query_warehouse(
        root, "select schema_changes from _headwater.loads order by loaded_at desc limit 1"
    )
    assert json.loads(recorded[0][0]) == [
        {
            "column": "channel",
            "change": "new_column",
            "old_type": None,
            "new_type": "VARCHAR",
            "action": "column added",
        },
        {
            "column": "note",
            "change": "dropped",
            "old_type": "VARCHAR",
            "new_type": None,
            "action": "column kept, NULL in the new rows",
        },
    ]
    # machine-readable: the same records, as objects
    as_json = invoke("loads", "raw.orders", "-f", "json", "-p", str(root))
    assert json.loads(as_json.stdout)[0]["schema_changes"] == json.loads(recorded[0][0])


def test_a_type_widened_by_a_later_file(project_dir):
    """CSV columns load as VARCHAR unless typed: a typed column that stops being typed (the
    file's values no longer fit) goes from BIGINT to VARCHAR."""
    typed = '[sources.orders.column_types]\namount = "BIGINT"\n'
    root = project_dir({"headwater.toml": CSV.format(extra=typed)})
    _drop(root, "d1", "orders.csv", "id,amount\n1,10\n")
    run_and_look(root, "raw.orders")
    (root / "headwater.toml").write_text('[project]\nname = "test"\n' + CSV.format(extra=""))
    _drop(root, "d2", "orders.csv", "id,amount\n2,ten\n")
    seen = run_and_look(root, "raw.orders")
    change = (
        "raw.orders: column 'amount' changed type from BIGINT to VARCHAR: "
        "column type changed to VARCHAR"
    )
    _in_log_and_summary(seen, change)
    assert "amount BIGINT -> VARCHAR" in loads_rows(seen.loads)[0]["schema changes"]
    assert query_warehouse(root, "select id, amount from raw.orders order by id") == [
        ("1", "10"),
        ("2", "ten"),
    ]


def test_json_lines_whose_type_changes_under_discard_value(project_dir):
    toml = (
        '[sources.events]\nfiles = "drops/*/events.jsonl"\nprimary_key = ["id"]\n'
        'write = "merge"\ncontract = "discard_value"\n'
    )
    root = project_dir({"headwater.toml": toml})
    _drop(root, "d1", "events.jsonl", '{"id": 1, "n": 5}\n')
    run_and_look(root, "raw.events")
    _drop(root, "d2", "events.jsonl", '{"id": 2, "n": "many"}\n{"id": 3, "n": "7"}\n')
    seen = run_and_look(root, "raw.events")
    change = (
        "raw.events: column 'n' changed type from BIGINT to VARCHAR: 1 values set to NULL, "
        "recorded in _headwater.rejected_rows"
    )
    _in_log_and_summary(seen, change)
    assert (
        "n BIGINT -> VARCHAR: 1 values set to NULL" in loads_rows(seen.loads)[0]["schema changes"]
    )
    assert query_warehouse(root, "select id, n from raw.events order by id") == [
        (1, 5),
        (2, None),
        (3, 7),
    ]


def test_discard_row_says_how_many_rows_it_left_out(project_dir):
    toml = CSV.format(extra='contract = "discard_row"')
    root = project_dir({"headwater.toml": toml})
    _drop(root, "d1", "orders.csv", "id,status\n1,new\n")
    run_and_look(root, "raw.orders")
    _drop(root, "d2", "orders.csv", "id,status,channel\n2,new,web\n3,new,\n4,new,shop\n")
    seen = run_and_look(root, "raw.orders")
    change = (
        "raw.orders: new column 'channel' (VARCHAR): 2 rows discarded, "
        "recorded in _headwater.rejected_rows"
    )
    _in_log_and_summary(seen, change)
    load = loads_rows(seen.loads)[0]
    assert "channel new -> VARCHAR: 2 rows discarded" in load["schema changes"]
    assert load["rows rejected"] == "2"
    assert query_warehouse(root, "select id from raw.orders order by id") == [("1",), ("3",)]
