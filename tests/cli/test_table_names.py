"""`table_names = "source"`: a table group keeps the source's table names, so two databases
load `lineitem` side by side into their own schemas and SQL written for them runs as is."""

from __future__ import annotations

import sqlite3

from headwater.testing.cli import invoke, query_warehouse, write_project

TOML = """
[connections.eu_db]
url = "sqlite:///eu.sqlite"
[connections.us_db]
url = "sqlite:///us.sqlite"

[sources.eu]
connection = "eu_db"
tables = ["lineitem"]
schema = "eu"
table_names = "source"

[sources.us]
connection = "us_db"
tables = ["lineitem"]
schema = "us"
table_names = "source"
"""
MODEL = "select 'eu' as region, sum(qty) as qty from eu.lineitem\n" + (
    "union all select 'us', sum(qty) from us.lineitem"
)


def _database(path, quantities):
    con = sqlite3.connect(path)
    con.execute("create table lineitem (id integer primary key, qty integer)")
    con.executemany("insert into lineitem (qty) values (?)", [(q,) for q in quantities])
    con.commit()
    con.close()


def test_two_databases_load_lineitem_into_their_own_schemas(tmp_path):
    root = write_project(tmp_path / "p", {"headwater.toml": TOML, "models/marts/qty.sql": MODEL})
    _database(root / "eu.sqlite", [1, 2])
    _database(root / "us.sqlite", [10, 20, 30])
    graph = invoke("graph", "-p", str(root), "-s", "kind:source")
    assert graph.stdout.splitlines() == ["eu.lineitem [source]", "us.lineitem [source]"]
    result = invoke("run", "-p", str(root))
    assert result.exit_code == 0, result.output
    rows = query_warehouse(root, "select region, qty::int from marts.qty order by 1")
    assert rows == [("eu", 3), ("us", 60)]


def test_prefixed_names_are_the_default(tmp_path):
    prefixed = TOML.replace('table_names = "source"', 'table_names = "prefixed"', 1)
    default = TOML.replace('table_names = "source"\n', "", 1)
    for toml in (prefixed, default):
        root = write_project(tmp_path / "p", {"headwater.toml": toml})
        graph = invoke("graph", "-p", str(root))
        assert graph.stdout.splitlines() == ["eu.eu_lineitem [source]", "us.lineitem [source]"]


def test_two_groups_naming_one_table_in_one_schema_is_refused(tmp_path):
    toml = TOML.replace('schema = "us"', 'schema = "eu"')
    root = write_project(tmp_path / "p", {"headwater.toml": toml})
    result = invoke("graph", "-p", str(root))
    assert result.exit_code == 2
    assert "'eu.lineitem' is already defined" in result.stderr
