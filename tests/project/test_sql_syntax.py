"""SQL the engine would reject fails the project's load with ``file:line:column: <sentence>``;
SQL it accepts (DuckDB-only syntax included) loads. Cases: sql_syntax_cases.toml."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from headwater.engines import sql_validator
from headwater.errors import SqlParseError
from headwater.project import load_project
from headwater.project.sql_model import table_references
from headwater.testing.cli import invoke, write_project

CASES = tomllib.loads((Path(__file__).parent / "sql_syntax_cases.toml").read_text())
DUCKDB = sql_validator("duckdb")


@pytest.mark.parametrize("case", CASES["reject"], ids=[c["case"] for c in CASES["reject"]])
def test_rejected_sql_is_located_and_explained(tmp_path: Path, case: dict[str, Any]) -> None:
    root = write_project(tmp_path / "p", {"models/s/m.sql": case["sql"]})
    with pytest.raises(SqlParseError) as caught:
        load_project(root, sql_validator=DUCKDB)
    message = str(caught.value)
    assert message.startswith(f"{root / 'models/s/m.sql'}:{case['at']}: "), message
    assert case["says"] in message
    assert "\n" not in message and "sqlglot" not in message and "Required keyword" not in message


@pytest.mark.parametrize("case", CASES["accept"], ids=[c["sql"] for c in CASES["accept"]])
def test_sql_duckdb_accepts_loads(case: dict[str, Any]) -> None:
    assert table_references(case["sql"], path=None, validator=DUCKDB) == set(case["reads"])


def test_cli_says_one_line_and_exits_2(tmp_path: Path) -> None:
    """`headwater graph` and `headwater compile` refuse the project before anything runs."""
    root = write_project(tmp_path / "p", {"models/s/m.sql": "select status,, count(*) from t"})
    for command in ("graph", "compile", "run"):
        result = invoke(command, "-p", str(root))
        assert result.exit_code == 2, result.output
        assert result.stderr == (
            f"error: {root / 'models/s/m.sql'}:1:15: two commas in a row: "
            "an expression is missing between them\n"
        )
    assert not (root / ".headwater" / "warehouse.duckdb").exists()


def test_without_an_engine_sqlglot_messages_are_sentences(tmp_path: Path) -> None:
    """A pure load (no validator) still explains what sqlglot finds, in the same words."""
    root = write_project(tmp_path / "p", {"models/s/m.sql": "select a\nfrom t\nwhere x >"})
    with pytest.raises(SqlParseError, match=r"m\.sql:3:9: '>' needs something after it$"):
        load_project(root)


def test_engine_decides_when_sqlglot_cannot_parse_strictly() -> None:
    """The rule is what the engine rejects: SQL it accepts is read leniently for its tables."""
    assert table_references("select a from t where", path=None, validator=lambda _: None) == {"t"}


def test_validated_once_per_content(tmp_path: Path) -> None:
    """The engine parses each file once: a second load takes the verdict from the parse
    cache; an edited file is parsed again; a cache entry no engine checked is not trusted."""
    root = write_project(
        tmp_path / "p", {"models/s/a.sql": "select 1 as x", "models/s/b.sql": "select * from a"}
    )
    seen: list[str] = []

    def counting(text: str) -> Any:
        seen.append(text)
        return DUCKDB(text)

    load_project(root, sql_validator=counting)
    assert len(seen) == 2
    load_project(root, sql_validator=counting)
    assert len(seen) == 2
    (root / "models/s/b.sql").write_text("select x,, x from a")
    with pytest.raises(SqlParseError, match="two commas"):
        load_project(root, sql_validator=counting)
    assert len(seen) == 3

    load_project(root)  # no engine: sqlglot accepts (it repairs) and caches its references
    cache = json.loads((root / ".headwater/cache/references.json").read_text())
    assert any(not key.startswith(("checked:", "yaml:")) for key in cache)
    with pytest.raises(SqlParseError, match="two commas"):
        load_project(root, sql_validator=DUCKDB)
