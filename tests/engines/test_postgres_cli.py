"""The CLI on a PostgreSQL warehouse: ``headwater run``, ``check`` and ``query`` with the
password from the environment; a wrong one is one line without it (exit 3)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from headwater.testing.cli import invoke, write_project


def _project(root: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    parts = urlsplit(postgres_url)
    monkeypatch.setenv("HW_WAREHOUSE_PW", parts.password or "")
    netloc = f"{parts.username}:${{HW_WAREHOUSE_PW}}@{parts.hostname}:{parts.port}"
    toml = f"""
[project]
name = "cli"
engine = "postgres"
warehouse = "postgresql://{netloc}{parts.path}"

[connections.db]
url = "sqlite:///src.sqlite"

[sources.db]
connection = "db"
tables = ["orders"]
primary_key = ["id"]

[[sources.db.checks]]
type = "not_null"
column = "amount"
"""
    write_project(root, {"headwater.toml": toml, "models/totals.sql": (
        "select count(*) as orders, sum(amount) as amount from raw.db_orders"
    )})  # fmt: skip
    con = sqlite3.connect(root / "src.sqlite")
    con.execute("create table orders (id integer, amount real)")
    con.executemany("insert into orders values (?, ?)", [(1, 2.5), (2, 4.0)])
    con.commit()
    con.close()
    return root


def test_run_check_and_query_on_postgres(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path / "p", postgres_url, monkeypatch)
    ran = invoke("run", cwd=root)
    assert ran.exit_code == 0, ran.stderr
    checked = invoke("check", cwd=root)
    assert checked.exit_code == 0, checked.stderr
    asked = invoke("query", "select orders, amount from main.totals", cwd=root)
    assert asked.exit_code == 0, asked.stderr
    assert "2" in asked.stdout and "6.5" in asked.stdout
    refused = invoke("query", "delete from main.totals", cwd=root)
    assert refused.exit_code == 4 and "only a query" in refused.stderr


def test_a_wrong_warehouse_password_is_one_line_without_it(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path / "p", postgres_url, monkeypatch)
    monkeypatch.setenv("HW_WAREHOUSE_PW", "not-the-pw-42")
    ran = invoke("run", cwd=root)
    assert ran.exit_code == 3
    assert "not-the-pw-42" not in ran.stdout + ran.stderr
    assert "cannot open the warehouse" in ran.stderr and "Traceback" not in ran.stderr


def test_a_postgres_engine_without_a_url_fails_at_load_in_one_line(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p", {"headwater.toml": '[project]\nname = "x"\nengine = "postgres"\n'}
    )
    ran = invoke("run", cwd=root)
    assert ran.exit_code == 2
    assert 'engine = "postgres" needs warehouse = "postgresql://' in ran.stderr
    assert "headwater.toml" in ran.stderr and "Traceback" not in ran.stderr


def test_a_construct_postgres_would_answer_differently_fails_the_load_at_its_line(
    tmp_path: Path, postgres_url: str
) -> None:
    model = "select *\nfrom first\nqualify row_number() over (partition by id) = 1\n"
    root = write_project(
        tmp_path / "p",
        {
            "headwater.toml": (
                f'[project]\nname = "x"\nengine = "postgres"\nwarehouse = "{postgres_url}"\n'
            ),
            "models/first.sql": "select 1 as id",
            "models/latest.sql": model,
        },
    )
    ran = invoke("run", cwd=root)
    assert ran.exit_code == 2
    assert "latest.sql:3" in ran.stderr
    assert "QUALIFY with * does not translate to postgres" in ran.stderr
