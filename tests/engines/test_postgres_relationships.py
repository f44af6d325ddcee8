"""A ``relationships`` check on a PostgreSQL warehouse: its orphan keys (DuckDB's
``list_distinct(min(x, n))``) are rendered for PostgreSQL, so the check counts and samples
its failing rows instead of erroring."""

from __future__ import annotations

from pathlib import Path

from headwater.engines import open_engine
from headwater.quality import run_checks
from headwater.quality.spec import parse_checks


def test_a_relationships_check_counts_and_samples_orphans(postgres_url: str) -> None:
    engine = open_engine("postgres", postgres_url)
    try:
        engine.ensure_schemas({"raw"})
        with engine.transaction() as cur:
            cur.execute("create table raw.products (sku text)")
            cur.execute("insert into raw.products values ('a'), ('b')")
            cur.execute("create table raw.items (id integer, sku text)")
            cur.execute("insert into raw.items values (1, 'a'), (2, 'zz'), (3, 'yy'), (4, null)")
        check = {"type": "relationships", "column": "sku", "to": "raw.products", "field": "sku"}
        checks = parse_checks([check], path=Path("h.toml"), text="")
        (result,) = run_checks(engine.cursor(), "raw.items", '"raw"."items"', checks)
    finally:
        engine.close()
    assert (result.status, result.failing, result.total) == ("fail", 2, 4)
    assert sorted(row["id"] for row in result.sample) == [2, 3]
