"""PostgreSQL ``char(n)`` keys mean in the warehouse what they mean in PostgreSQL.

PostgreSQL pads ``char(n)`` values with blanks and ignores them when it compares:
``where code = 'GERMANY'`` finds ``'GERMANY   '``. Loaded with the blanks, the same
predicate, and every join of such keys, finds nothing in the warehouse. Each test loads two
tables with a ``char(10)`` key (and a ``varchar`` column that joins to it) through the real
runtime and runs the same queries on both sides: the warehouse must answer as PostgreSQL
does. ``char_padding = "keep"`` keeps the blanks (every value is n characters long).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import query_warehouse, write_project
from headwater.testing.servers import postgres_available

pytestmark = pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not installed")

SETUP = """
create table nation (code char(10) primary key, name varchar(20));
insert into nation values ('GERMANY', 'Germany'), ('FRANCE', 'France'), ('PERU', 'Peru'),
  (' CHAD', 'Chad'), ('NEWZEALAND', 'New Zealand'), ('', 'Nowhere');
create table customer (id integer primary key, nation char(10), nation_v varchar(12));
insert into customer values (1, 'GERMANY', 'GERMANY'), (2, 'FRANCE  ', 'FRANCE'),
  (3, 'CHAD', ' CHAD'), (4, 'NEWZEALAND', 'NEWZEALAND'), (5, null, 'PERU'),
  (6, 'GERMANY', 'germany'), (7, '   ', '');
"""

# the same questions, asked of PostgreSQL ({n} nation, {c} customer) and of the warehouse
QUESTIONS = [
    "select name from {n} where code = 'GERMANY'",
    "select count(*) from {n} where code = 'NEWZEALAND'",
    "select c.id, n.name from {c} c join {n} n on n.code = c.nation order by c.id",
    "select c.id, n.name from {c} c join {n} n on n.code = c.nation_v order by c.id",
    "select c.id from {c} c join {c} d on d.nation = c.nation where d.id = 1 order by c.id",
]


def _source(url: str) -> list[list[tuple[Any, ...]]]:
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(SETUP)
        answers = [con.execute(q.format(n="nation", c="customer")).fetchall() for q in QUESTIONS]
    assert all(answers), answers  # every question has an answer to match
    return answers


def _load(root: Path, url: str, sources: str) -> None:
    toml = f'[connections.pg]\nurl = "{url}"\n\n{sources}'
    write_project(root, {"headwater.toml": toml})
    result = run(load_project(root))
    errors = {name: step.error for name, step in result.steps.items() if step.error}
    assert result.status == "success", errors


def _codes(url: str, sql: str) -> list[str | None]:
    with psycopg.connect(url, autocommit=True) as con:
        return sorted(r[0] for r in con.execute(sql).fetchall())


@pytest.mark.parametrize("transport", ["native", "arrow"])
def test_char_keys_compare_in_the_warehouse_as_in_postgres(
    postgres_url: str, tmp_path: Path, transport: str
) -> None:
    answers = _source(postgres_url)
    sources = (
        f'[sources.pg]\nconnection = "pg"\ntables = ["nation", "customer"]\n'
        f'transport = "{transport}"\n'
    )
    _load(tmp_path, postgres_url, sources)
    tables = {"n": "raw.pg_nation", "c": "raw.pg_customer"}
    found = [query_warehouse(tmp_path, q.format(**tables)) for q in QUESTIONS]
    assert found == answers
    # the values are PostgreSQL's text of them: trailing blanks gone, leading ones kept
    codes = query_warehouse(tmp_path, "select code from raw.pg_nation")
    assert sorted(c for (c,) in codes) == _codes(postgres_url, "select code::text from nation")


def test_char_columns_of_a_query_compare_as_in_postgres(postgres_url: str, tmp_path: Path) -> None:
    answers = _source(postgres_url)
    sources = (
        '[sources.pg]\nconnection = "pg"\ntables = ["nation"]\n\n'
        '[sources.cust]\nconnection = "pg"\n'
        'query = "select id, nation, nation_v from customer"\n'
    )
    _load(tmp_path, postgres_url, sources)
    found = [
        query_warehouse(tmp_path, q.format(n="raw.pg_nation", c="raw.cust")) for q in QUESTIONS
    ]
    assert found == answers


@pytest.mark.parametrize("transport", ["native", "arrow"])
def test_char_padding_keep_keeps_the_blanks(
    postgres_url: str, tmp_path: Path, transport: str
) -> None:
    _source(postgres_url)
    sources = (
        f'[sources.pg]\nconnection = "pg"\ntables = ["nation", "customer"]\n'
        f'transport = "{transport}"\nchar_padding = "keep"\n\n'
        '[sources.cust]\nconnection = "pg"\nquery = "select id, nation from customer"\n'
        'char_padding = "keep"\n'
    )
    _load(tmp_path, postgres_url, sources)
    for table, column, source in (
        ("raw.pg_nation", "code", "select code from nation"),
        ("raw.pg_customer", "nation", "select nation from customer where nation is not null"),
        ("raw.cust", "nation", "select nation from customer where nation is not null"),
    ):
        rows = query_warehouse(tmp_path, f"select {column} from {table} where {column} is not null")
        values = sorted(v for (v,) in rows)
        assert values == _codes(postgres_url, source), table  # psycopg: PostgreSQL's padded text
        assert {len(v) for v in values} == {10}, table
    assert query_warehouse(tmp_path, "select count(*) from raw.pg_nation where code = 'PERU'") == [
        (0,)
    ]


def test_char_padding_per_table(postgres_url: str, tmp_path: Path) -> None:
    """``table_options.<table>.char_padding`` overrides its source's."""
    _source(postgres_url)
    sources = (
        '[sources.pg]\nconnection = "pg"\ntables = ["nation", "customer"]\n\n'
        '[sources.pg.table_options.customer]\nchar_padding = "keep"\n'
    )
    _load(tmp_path, postgres_url, sources)
    nation = query_warehouse(tmp_path, "select max(length(code)) from raw.pg_nation")
    customer = query_warehouse(tmp_path, "select min(length(nation)) from raw.pg_customer")
    assert (nation, customer) == ([(10,)], [(10,)])
    assert query_warehouse(tmp_path, "select count(*) from raw.pg_nation where code = 'PERU'") == [
        (1,)
    ]
