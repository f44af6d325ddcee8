"""Compiled SQL: unqualified asset names qualified, the rest as written; kept between runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.models import CompiledCache, compile_sql
from headwater.models import compile as compile_module
from headwater.project import load_project
from headwater.testing.cli import write_project


def _project(root: Path, schema: str = "staging"):  # type: ignore[no-untyped-def]
    return load_project(
        write_project(
            root,
            {
                f"models/{schema}/orders.sql": "select 1 as id",
                "models/marts/report.sql": (
                    "with orders_cte as (select * from orders) "
                    "select * from orders_cte join staging_extra.t using (id)"
                ),
                "models/marts/plain.sql": f"select * from {schema}.orders",
                "models/staging_extra/t.sql": "select 1 as id",
            },
        )
    )


def test_unqualified_names_are_qualified(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    sql = compile_sql(project.graph["marts.report"], project.graph)
    assert "staging.orders" in sql
    assert "orders_cte" in sql  # a CTE is not an asset
    plain = compile_sql(project.graph["marts.plain"], project.graph)
    assert "staging.orders" in plain.lower() and "staging.staging" not in plain.lower()


def test_cache_survives_and_follows_where_tables_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path / "p")
    path = tmp_path / "compiled.json"
    first = CompiledCache(path)
    expected = first.compile(project.graph["marts.report"], project.graph)
    first.save()
    assert path.is_file()

    def no_parsing(*args: object, **kwargs: object) -> str:
        raise AssertionError("compiled again")

    monkeypatch.setattr(compile_module, "_qualify", no_parsing)
    again = CompiledCache(path).compile(project.graph["marts.report"], project.graph)
    assert again == expected

    # the same SQL, but orders now lives in another schema: compiled afresh, not reused
    moved = _project(tmp_path / "q", schema="core")
    with pytest.raises(AssertionError, match="compiled again"):
        CompiledCache(path).compile(moved.graph["marts.report"], moved.graph)
    monkeypatch.undo()
    assert "core.orders" in CompiledCache(path).compile(moved.graph["marts.report"], moved.graph)
