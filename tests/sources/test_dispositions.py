"""Write dispositions, cursor windows and schema contracts, through real loads from SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import query_warehouse as rows

TOML = """
[connections.db]
url = "sqlite:///src.sqlite"

[sources.db]
connection = "db"
tables = ["t"]
primary_key = ["id"]
{options}
"""


def setup(project_dir, options: str, rows: list[tuple], ddl: str = "id integer, v text, at text"):
    root = project_dir({"headwater.toml": TOML.format(options=options)})
    con = sqlite3.connect(root / "src.sqlite")
    con.execute(f"create table t ({ddl})")
    insert(con, rows)
    return root, con


def insert(con: sqlite3.Connection, rows: list[tuple]) -> None:
    if rows:
        con.executemany(f"insert into t values ({', '.join('?' * len(rows[0]))})", rows)
    con.commit()


def load(root: Path) -> dict:
    result = run(load_project(root))
    step = result.steps["raw.db_t"]
    assert step.status == "success", step.error
    return step.result


def test_append_boundary_rows_are_neither_lost_nor_duplicated(project_dir):
    root, con = setup(
        project_dir,
        'cursor = "at"\nwrite = "append"',
        [(1, "a", "2026-01-01"), (2, "b", "2026-01-02")],
    )
    load(root)
    # a late row with the same cursor value as the last mark, and a newer one
    insert(con, [(3, "c", "2026-01-02"), (4, "d", "2026-01-03")])
    load(root)
    load(root)  # nothing new: nothing appended
    assert rows(root, "select id from raw.db_t order by id") == [(1,), (2,), (3,), (4,)]
    insert(con, [(5, "e", "2026-01-03")])
    load(root)
    assert rows(root, "select count(*), count(distinct id) from raw.db_t") == [(5, 5)]


def test_end_value_is_a_bounded_window_that_keeps_state(project_dir):
    days = [(i, "x", f"2026-01-{i:02d}") for i in range(1, 11)]
    root, _con = setup(
        project_dir,
        'cursor = "at"\nwrite = "merge"\ninitial_value = "2026-01-03"\nend_value = "2026-01-06"',
        days,
    )
    load(root)
    assert rows(root, "select min(id), max(id) from raw.db_t") == [(3, 5)]
    assert rows(root, "select count(*) from _headwater.state where asset = 'raw.db_t'") == [(0,)]


def test_lag_rereads_recent_rows_for_merge(project_dir):
    root, con = setup(
        project_dir,
        'cursor = "at"\nwrite = "merge"\nlag = "1 day"',
        [(1, "a", "2026-01-01"), (2, "b", "2026-01-05")],
    )
    assert load(root)["rows_in"] == 2
    # late-arriving correction stamped one day before the mark: inside the lag, so it is seen
    con.execute("update t set v = 'a2', at = '2026-01-04' where id = 1")
    con.commit()
    assert load(root)["rows_in"] == 2
    assert rows(root, "select id, v from raw.db_t order by id") == [(1, "a2"), (2, "b")]


def test_merge_rewrites_only_new_and_changed_rows(project_dir):
    """A full merge compares each new row with the stored row of its key: unchanged rows keep
    their load id (NULL keys included), changed and new ones get this load's."""
    root, con = setup(
        project_dir, 'write = "merge"', [(1, "a", "d1"), (2, "b", "d1"), (None, "n", "d1")]
    )
    load(root)
    first = dict(rows(root, "select coalesce(id, -1), _hw_load_id from raw.db_t"))
    con.execute("update t set v = 'b2' where id = 2")
    insert(con, [(3, "c", "d2")])
    assert load(root)["rows_out"] == 2
    after = dict(rows(root, "select coalesce(id, -1), _hw_load_id from raw.db_t"))
    assert after[1] == first[1] and after[-1] == first[-1]  # untouched
    assert after[2] != first[2] and after[3] == after[2]  # this load's
    assert rows(root, "select id, v from raw.db_t order by id nulls first") == [
        (None, "n"),
        (1, "a"),
        (2, "b2"),
        (3, "c"),
    ]
    assert load(root)["rows_out"] == 0  # nothing changed: nothing written


def test_scd2_keeps_history(project_dir):
    root, con = setup(project_dir, 'write = "scd2"', [(1, "a", "d1"), (2, "b", "d1")])
    load(root)
    con.execute("update t set v = 'a2' where id = 1")
    con.execute("delete from t where id = 2")
    insert(con, [(3, "c", "d2")])
    load(root)
    load(root)  # no change: no new versions
    history = rows(
        root,
        "select id, v, _hw_valid_to is null as current from raw.db_t order by id, _hw_valid_from",
    )
    assert history == [(1, "a", False), (1, "a2", True), (2, "b", False), (3, "c", True)]


SCHEMA_CHANGES = {
    "new_column": ("alter table t add column extra text", [(3, "c", "2026-01-03", "x")]),
    "widened": (None, [(3, "c", "2026-01-03")]),
}


@pytest.mark.parametrize("contract", ["evolve", "freeze", "discard_row", "discard_value"])
def test_contract_on_new_column(project_dir, contract):
    root, con = setup(
        project_dir, f'write = "append"\ncursor = "at"\ncontract = "{contract}"', [(1, "a", "d1")]
    )
    load(root)
    con.execute("alter table t add column extra text")
    insert(con, [(2, "b", "d2", "x"), (3, "c", "d3", None)])
    result = run(load_project(root)).steps["raw.db_t"]
    if contract == "freeze":
        assert result.status == "failed"
        assert (
            "schema contract 'freeze' refuses the load: raw.db_t: new column 'extra' (VARCHAR)"
            in result.error
        )
        assert rows(root, "select count(*) from raw.db_t") == [(1,)]
        return
    assert result.status == "success", result.error
    if contract == "evolve":
        assert rows(root, "select id, extra from raw.db_t order by id") == [
            (1, None),
            (2, "x"),
            (3, None),
        ]
    elif contract == "discard_row":
        assert rows(root, "select id from raw.db_t order by id") == [(1,), (3,)]
    else:
        assert rows(root, "select id from raw.db_t order by id") == [(1,), (2,), (3,)]
        assert "extra" not in [
            c
            for (c,) in rows(
                root, "select column_name from information_schema.columns where table_name = 'db_t'"
            )
        ]
    if contract != "evolve":
        recorded = rows(root, 'select "column", raw, error from _headwater.rejected_rows')
        assert recorded == [("extra", "x", recorded[0][2])] and contract in recorded[0][2]


@pytest.mark.parametrize("contract", ["evolve", "freeze", "discard_row", "discard_value"])
def test_contract_on_incompatible_type(project_dir, contract):
    # the source column changes from integer to text (a type change between loads)
    root = project_dir(
        {"headwater.toml": TOML.format(options=f'write = "append"\ncontract = "{contract}"')}
    )
    con = sqlite3.connect(root / "src.sqlite")
    con.execute("create table t (id integer, n integer)")
    insert(con, [(1, 10)])
    load(root)
    con.execute("drop table t")
    con.execute("create table t (id integer, n text)")
    insert(con, [(2, "20"), (3, "lots")])
    result = run(load_project(root)).steps["raw.db_t"]
    if contract == "freeze":
        assert result.status == "failed"
        assert "column 'n' changed type from BIGINT to VARCHAR" in result.error
        return
    assert result.status == "success", result.error
    got = rows(root, "select id, n::varchar from raw.db_t order by id")
    if contract == "evolve":
        assert got == [(1, "10"), (2, "20"), (3, "lots")]
    elif contract == "discard_row":
        assert got == [(1, "10"), (2, "20")]
    else:
        assert got == [(1, "10"), (2, "20"), (3, None)]
    if contract != "evolve":
        assert rows(root, 'select "column", raw from _headwater.rejected_rows') == [("n", "lots")]


def test_widened_type_evolves(project_dir):
    root = project_dir({"headwater.toml": TOML.format(options='write = "append"')})
    con = sqlite3.connect(root / "src.sqlite")
    con.execute("create table t (id integer, amount numeric(6,2))")
    insert(con, [(1, "1.50")])
    load(root)
    con.execute("drop table t")
    con.execute("create table t (id integer, amount numeric(12,4))")
    insert(con, [(2, "12345678.1234")])
    load(root)
    assert rows(
        root, "select data_type from information_schema.columns where column_name = 'amount'"
    ) == [("DECIMAL(12,4)",)]
    assert rows(root, "select amount::varchar from raw.db_t order by id") == [
        ("1.5000",),
        ("12345678.1234",),
    ]


def test_every_table_of_a_connection_with_include_exclude(project_dir):
    from headwater.testing.cli import invoke

    root = project_dir(
        {
            "headwater.toml": '[connections.db]\nurl = "sqlite:///src.sqlite"\n'
            '[sources.all]\nconnection = "db"\ntables = ["*"]\ninclude = ["sales_*", "customers"]\n'
            'exclude = ["*_tmp"]\nwrite = "replace"\n',
        }
    )
    con = sqlite3.connect(root / "src.sqlite")
    for table in ("customers", "sales_eu", "sales_us", "sales_tmp", "audit"):
        con.execute(f"create table {table} (id integer)")
        con.execute(f"insert into {table} values (1)")
    con.commit()
    result = invoke("run", "-p", str(root))
    assert result.exit_code == 0, result.output
    assert rows(
        root,
        "select table_name from information_schema.tables where table_schema = 'raw' order by 1",
    ) == [("all_customers",), ("all_sales_eu",), ("all_sales_us",)]
    con.execute("create table sales_jp (id integer)")
    con.commit()
    assert "4 tables" in invoke("discover", "-p", str(root)).stdout
    assert "raw.all_sales_jp" in invoke("graph", "-p", str(root)).stdout


def test_custom_query_and_selected_columns(project_dir):
    root = project_dir(
        {
            "headwater.toml": '[connections.db]\nurl = "sqlite:///src.sqlite"\n'
            '[sources.big_orders]\nconnection = "db"\nquery = "select id, v from t where id > 1"\nwrite = "replace"\n'
            '[sources.db]\nconnection = "db"\ntables = ["t"]\nwrite = "replace"\n'
            '[sources.db.table_options.t]\ncolumns = ["id", "at"]\n',
        }
    )
    con = sqlite3.connect(root / "src.sqlite")
    con.execute("create table t (id integer, v text, at text)")
    insert(con, [(1, "a", "d1"), (2, "b", "d2"), (3, "c", "d3")])
    run(load_project(root))
    assert rows(root, "select id, v from raw.big_orders order by id") == [
        ("2", "b"),
        ("3", "c"),
    ] or rows(root, "select id, v from raw.big_orders order by id") == [(2, "b"), (3, "c")]
    assert [
        c
        for (c,) in rows(
            root,
            "select column_name from information_schema.columns where table_name = 'db_t' and column_name not like '_hw_%'",
        )
    ] == ["id", "at"]
