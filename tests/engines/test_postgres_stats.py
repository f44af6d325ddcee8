"""Plans of the PostgreSQL warehouse's writes: each write leaves planner statistics of the
rows it wrote before its checks run, and the checks of a model on deduplicating views do
not plan the nested loop that stopped the store demo at scale 10."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pyarrow as pa
import pytest

from headwater.engines import Engine, LoadRequest, open_engine


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Engine]:
    engine = open_engine("postgres", postgres_url)
    engine.ensure_schemas({"raw", "marts"})
    yield engine
    engine.close()


def _orders(first: int, last: int) -> pa.Table:
    """Orders ``first..last``, two versions each (keys repeat every half)."""
    ids = list(range(first, last + 1))
    half = (last - first + 1) // 2
    return pa.table({"order_id": [first + i % half for i in range(len(ids))], "version": ids})


def _load(pg: Engine, table: str, data: pa.Table, audit: Any, write: str = "append") -> None:
    request = LoadRequest(
        schema="raw", table=table, load_id=pg.new_load_id(), write=write,  # type: ignore[arg-type]
        batches=data.to_reader(), audit=audit,
    )  # fmt: skip
    pg.load(table, request)


def _build_model(pg: Engine, materialized: str, rows: int, audit: Any) -> None:
    sql = f"select v, date '2024-01-01' + v % 3 as day from generate_series(1, {rows}) as g(v)"
    if materialized == "partition":
        jan2 = (datetime(2024, 1, 2), datetime(2024, 1, 3))
        inside = f"select * from ({sql}) m where day = date '2024-01-02'"
        pg.materialize_partition(
            "marts", "m", inside, partition_by="day", interval=jan2, audit=audit
        )
    else:
        pg.materialize_sql(
            "marts", "m", sql, materialized=materialized, unique_key=["v"], audit=audit
        )


Write = Callable[[Engine, int, Any], None]
WRITES: dict[str, Write] = {
    "load append": lambda pg, n, audit: _load(pg, "t", _orders(1, n), audit),
    "load replace": lambda pg, n, audit: _load(pg, "t", _orders(1, n), audit, "replace"),
    "table model": lambda pg, n, audit: _build_model(pg, "table", n, audit),
    "incremental model": lambda pg, n, audit: _build_model(pg, "incremental", n, audit),
    "partition": lambda pg, n, audit: _build_model(pg, "partition", n, audit),
}


@pytest.mark.parametrize("write", WRITES, ids=list(WRITES))
def test_a_write_has_statistics_of_its_rows_before_its_checks(pg: Engine, write: str) -> None:
    """Checks run inside the write's transaction, before the commit; autovacuum analyzes a
    table later (or never, below 10% of it changed). PostgreSQL's row estimate of the
    table, as the checks' plans see it, is the table's true size on a first build and after
    a rebuild."""
    seen: list[tuple[int, int]] = []

    def audit(cur: Any, target: str) -> None:
        estimate = cur.pg.execute(
            "select reltuples::bigint from pg_class where oid = ?::regclass", [target]
        ).fetchone()[0]
        count = cur.pg.execute(f"select count(*) from {target}").fetchone()[0]
        seen.append((int(estimate), int(count)))

    WRITES[write](pg, 3000, audit)
    WRITES[write](pg, 6000, audit)
    assert len(seen) == 2
    assert [estimate for estimate, _ in seen] == [count for _, count in seen]


def test_checks_on_deduplicating_views_do_not_loop_over_every_pair_of_rows(pg: Engine) -> None:
    """A view keeping each key's latest version (``row_number() ... = 1``) is estimated at
    0.5% of its rows whatever the statistics; with one more filter, a check joining it to
    another such view was planned as a nested loop comparing every row with every row
    (the store demo's staging checks at scale 10 did not finish in 300 s). In the build's
    transaction, where checks run, it is a hash or merge join; outside it, PostgreSQL's
    own settings are back."""
    _load(pg, "orders", _orders(1, 4000), None)
    _load(pg, "items", _orders(1, 4000), None)
    pg.materialize_sql(
        "marts", "latest_orders",
        "select 'o-' || order_id as order_key from (select order_id, row_number() over "
        "(partition by order_id order by version desc) as r from raw.orders) x where r = 1",
        materialized="view",
    )  # fmt: skip
    latest_items = (
        "select 'o-' || order_id as order_key from (select order_id, cast(cast(version as "
        "varchar) as bigint) as quantity, row_number() over (partition by order_id order by "
        "version desc) as r from raw.items) x where r = 1 and quantity > 0"
    )
    # a relationships check (order_key to latest_orders), as PostgreSQL receives it
    orphans = (
        "select count(*) from {this} as i where i.order_key is not null and not exists "
        "(select 1 from marts.latest_orders as o where o.order_key = i.order_key)"
    )
    found: list[tuple[str, int]] = []

    def audit(cur: Any, target: str) -> None:
        query = orphans.format(this=target)
        plan = "\n".join(r[0] for r in cur.pg.execute(f"explain {query}").fetchall())
        found.append((plan, cur.pg.execute(query).fetchone()[0]))

    pg.materialize_sql("marts", "latest_items", latest_items, materialized="view", audit=audit)
    plan, orphan_count = found[0]
    assert orphan_count == 0
    assert "Nested Loop" not in plan, plan
    # and so outside any build: `headwater check`, the server's reads, `headwater query`
    assert pg.query_arrow("show enable_nestloop").to_pylist() == [{"enable_nestloop": "off"}]
