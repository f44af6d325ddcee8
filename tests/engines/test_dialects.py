"""Project SQL is written in DuckDB's dialect and rendered for the engine's: unchanged for
DuckDB; for another target, a construct not proven to answer the same there fails the
project's load with file:line:column and the construct's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.engines import sql_validator
from headwater.engines.constructs import VERIFIED
from headwater.engines.dialects import render, validator_for
from headwater.engines.duckdb.parse import check_sql
from headwater.errors import SqlParseError
from headwater.models.compile import compile_sql
from headwater.project import load_project
from headwater.testing.cli import write_project

LATEST = """\
-- the newest row of each key
select *
from raw_orders
qualify row_number() over (partition by id order by seen desc) = 1
"""
SOURCE = '[sources.raw_orders]\nfiles = "data/orders.csv"\n'


def _project(tmp_path: Path) -> Path:
    files = {
        "headwater.toml": SOURCE,
        "data/orders.csv": "id,seen\n1,2024-01-01\n",
        "models/staging/latest.sql": LATEST,
    }
    return write_project(tmp_path / "p", files)


def test_duckdb_runs_the_sql_as_written(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path), sql_validator=sql_validator("duckdb"))
    asset = project.graph["staging.latest"]
    assert "qualify" in compile_sql(asset, project.graph).lower()
    assert render(LATEST, "duckdb") == LATEST  # nothing parsed: the text itself


def test_an_untranslatable_construct_fails_the_load_at_its_line(tmp_path: Path) -> None:
    root = _project(tmp_path)
    with pytest.raises(SqlParseError) as raised:
        load_project(root, sql_validator=validator_for(check_sql, "postgres"))
    assert str(raised.value) == (
        f"{root / 'models/staging/latest.sql'}:4:1: QUALIFY with * does not translate to "
        "postgres (it would answer differently)"
    )


def test_a_text_checked_for_duckdb_is_checked_again_for_another_target(tmp_path: Path) -> None:
    root = _project(tmp_path)
    load_project(root, sql_validator=sql_validator("duckdb"))  # cached as checked
    with pytest.raises(SqlParseError, match="QUALIFY with \\*"):
        load_project(root, sql_validator=validator_for(check_sql, "postgres"))


def test_a_construct_proven_by_golden_tests_is_rendered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(VERIFIED, "postgres", frozenset({"QUALIFY with *"}))
    project = load_project(_project(tmp_path), sql_validator=validator_for(check_sql, "postgres"))
    sql = compile_sql(project.graph["staging.latest"], project.graph, dialect="postgres")
    # PostgreSQL has no QUALIFY: sqlglot wraps the query (the helper column _w then leaks
    # through the *, which is why the construct is refused until a golden test proves it)
    assert "QUALIFY" not in sql.upper()
    assert "ROW_NUMBER() OVER (PARTITION BY id ORDER BY seen DESC NULLS LAST) AS _w" in sql
    assert "FROM raw.raw_orders AS raw_orders" in sql
