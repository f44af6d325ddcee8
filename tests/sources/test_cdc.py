"""PostgreSQL change data capture against a real PostgreSQL with wal_level = logical: the
slot's snapshot, then inserts, updates and deletes into merge (hard or soft deletes), scd2
and append assets; TOASTed values an update left alone are kept; the slot's confirmed
position follows the warehouse, never leads it."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import psycopg
import pytest

from headwater.sources.cdc import slot as slots
from headwater.testing.cli import invoke, query_warehouse, write_project


def _project(
    root: Path, url: str, *, write: str = "merge", extra: str = "", slot: str = "hw_cust"
) -> Path:
    return write_project(
        root,
        {
            "headwater.toml": f"""
[connections.app]
url = "{url}"

[sources.app]
connection = "app"
tables = ["customers"]
table_names = "source"
write = "{write}"
primary_key = ["id"]

[sources.app.cdc]
slot = "{slot}"
{extra}
"""
        },
    )


def _sql(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _source_rows(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("select id, name, amount from customers order by id").fetchall()


def _warehouse_rows(root: Path, where: str = "true") -> list[tuple[Any, ...]]:
    return query_warehouse(
        root, f"select id, name, amount from raw.customers where {where} order by id"
    )


def _confirmed(url: str, slot: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select confirmed_flush_lsn::text from pg_replication_slots where slot_name = %s",
            [slot],
        ).fetchone()
    assert row is not None
    return str(row[0])


def _state_lsn(root: Path) -> str:
    row = query_warehouse(root, "select state from _headwater.state where asset = 'raw.customers'")
    return str(json.loads(row[0][0])["lsn"])


@pytest.fixture
def customers(postgres_logical_url: str) -> str:
    _sql(
        postgres_logical_url,
        "create table customers (id int primary key, name text, amount numeric(10,2), note text)",
        "insert into customers values (1, 'ann', 10.50, null), (2, 'bob', 20, null), (3, 'cy', 30, null)",
    )
    return postgres_logical_url


def test_snapshot_then_changes_merge_with_hard_deletes(tmp_path: Path, customers: str) -> None:
    root = _project(tmp_path / "p", customers)
    first = invoke("run", "-p", str(root))
    assert first.exit_code == 0, first.output
    assert _warehouse_rows(root) == _source_rows(customers)
    assert query_warehouse(root, "select distinct _cdc_op from raw.customers") == [("snapshot",)]

    _sql(
        customers,
        "insert into customers values (4, 'dee', 40, null)",
        "update customers set name = 'bobby', amount = 21 where id = 2",
        "delete from customers where id = 1",
        "begin; insert into customers values (5, 'eve', 50, null); delete from customers where id = 5; commit",
        "begin; update customers set amount = 31 where id = 3; update customers set amount = 32 where id = 3; commit",
    )
    second = invoke("run", "-p", str(root))
    assert second.exit_code == 0, second.output
    assert _warehouse_rows(root) == _source_rows(customers)
    ops = dict(query_warehouse(root, "select id, _cdc_op from raw.customers"))
    assert ops == {2: "update", 3: "update", 4: "insert"}

    # the slot is confirmed where the warehouse is, and nothing new loads nothing
    assert _confirmed(customers, "hw_cust") == _state_lsn(root)
    assert invoke("run", "-p", str(root)).exit_code == 0
    assert _warehouse_rows(root) == _source_rows(customers)


def test_soft_deletes_keep_the_row_and_a_reinsert_clears_the_mark(
    tmp_path: Path, customers: str
) -> None:
    root = _project(tmp_path / "p", customers, extra='deletes = "soft"', slot="hw_soft")
    assert invoke("run", "-p", str(root)).exit_code == 0
    _sql(customers, "delete from customers where id in (1, 2)")
    assert invoke("run", "-p", str(root)).exit_code == 0
    assert _warehouse_rows(root, "_hw_deleted_at is null") == _source_rows(customers)
    deleted = query_warehouse(
        root, "select id, name from raw.customers where _hw_deleted_at is not null order by id"
    )
    assert deleted == [(1, "ann"), (2, "bob")]  # the row as it was, marked

    _sql(customers, "insert into customers values (2, 'bob', 20, null)")
    assert invoke("run", "-p", str(root)).exit_code == 0
    assert _warehouse_rows(root, "_hw_deleted_at is null") == _source_rows(customers)
    assert query_warehouse(root, "select count(*) from raw.customers") == [(3,)]


def test_scd2_closes_versions_on_update_and_delete(tmp_path: Path, customers: str) -> None:
    root = _project(tmp_path / "p", customers, write="scd2", slot="hw_scd2")
    assert invoke("run", "-p", str(root)).exit_code == 0
    _sql(
        customers,
        "update customers set amount = 11 where id = 1",
        "delete from customers where id = 2",
    )
    assert invoke("run", "-p", str(root)).exit_code == 0
    current = query_warehouse(
        root, "select id, amount from raw.customers where _hw_valid_to is null order by id"
    )
    assert [(i, float(a)) for i, a in current] == [(1, 11.0), (3, 30.0)]
    history = query_warehouse(
        root, "select id, count(*) from raw.customers group by id order by id"
    )
    assert history == [(1, 2), (2, 1), (3, 1)]


def test_unchanged_toasted_values_are_kept(tmp_path: Path, customers: str) -> None:
    big = secrets.token_hex(20_000)  # 40 kB, incompressible: stored out of line (TOAST)
    _sql(customers, f"update customers set note = '{big}' where id = 1")
    root = _project(tmp_path / "p", customers, slot="hw_toast")
    assert invoke("run", "-p", str(root)).exit_code == 0
    _sql(customers, "update customers set amount = 99 where id = 1")  # note not sent
    assert invoke("run", "-p", str(root)).exit_code == 0
    row = query_warehouse(
        root, "select amount, length(note), note = ? from raw.customers where id = 1", [big]
    )
    assert [(float(row[0][0]), row[0][1], row[0][2])] == [(99.0, 40_000, True)]


def test_slot_advances_only_after_the_warehouse_commit(
    tmp_path: Path, customers: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that committed to the warehouse and died before confirming to the slot: the
    next run gets those changes again from the server and loads none of them twice."""
    root = _project(tmp_path / "p", customers, write="append", slot="hw_append")
    assert invoke("run", "-p", str(root)).exit_code == 0
    _sql(
        customers,
        "insert into customers values (10, 'x', 1, null)",
        "delete from customers where id = 3",
    )
    with monkeypatch.context() as m:
        m.setattr(slots, "confirm", lambda *a, **k: None)  # the process "died" right there
        assert invoke("run", "-p", str(root)).exit_code == 0
    assert _confirmed(customers, "hw_append") != _state_lsn(root)  # the slot is behind
    _sql(customers, "update customers set name = 'y' where id = 10")
    assert invoke("run", "-p", str(root)).exit_code == 0
    changes = query_warehouse(
        root, "select id, _cdc_op from raw.customers where _cdc_op <> 'snapshot' order by _cdc_lsn"
    )
    assert changes == [(10, "insert"), (3, "delete"), (10, "update")]
    assert _confirmed(customers, "hw_append") == _state_lsn(root)


def test_a_failed_load_does_not_advance_the_slot(tmp_path: Path, customers: str) -> None:
    root = _project(tmp_path / "p", customers, slot="hw_fail")
    assert invoke("run", "-p", str(root)).exit_code == 0
    before = _confirmed(customers, "hw_fail")
    # a value the warehouse's column cannot take under contract = "freeze": the load fails
    _sql(
        customers,
        "alter table customers add column extra int",
        "insert into customers values (7, 'g', 7, null, 1)",
    )
    toml = root / "headwater.toml"
    toml.write_text(
        toml.read_text().replace('write = "merge"', 'write = "merge"\ncontract = "freeze"')
    )
    failed = invoke("run", "-p", str(root))
    assert failed.exit_code == 5, failed.output
    assert _confirmed(customers, "hw_fail") == before
    toml.write_text(toml.read_text().replace('contract = "freeze"', 'contract = "evolve"'))
    assert invoke("run", "-p", str(root)).exit_code == 0
    assert query_warehouse(root, "select id, extra from raw.customers where id = 7") == [(7, 1)]


def test_errors_are_one_line(
    tmp_path: Path, postgres_logical_url: str, postgres_logical_server: Any
) -> None:
    root = _project(tmp_path / "p", postgres_logical_url, slot="hw_missing")
    missing = invoke("run", "-p", str(root))
    assert missing.exit_code == 5
    assert (
        "connection 'app' slot hw_missing: table public.customers does not exist" in missing.output
    )
    bad = postgres_logical_url.replace(postgres_logical_server.password, "wrong-pw")
    down = _project(tmp_path / "q", bad, slot="hw_auth")
    result = invoke("run", "-p", str(down))
    assert result.exit_code == 5
    assert "connection 'app': " in result.output
    assert "wrong-pw" not in result.output
    assert "Traceback" not in result.output


def test_a_server_without_logical_wal_level_is_one_line(tmp_path: Path, postgres_url: str) -> None:
    _sql(
        postgres_url, "create table customers (id int primary key, name text, amount numeric(10,2))"
    )
    root = _project(tmp_path / "p", postgres_url, slot="hw_nowal")
    result = invoke("run", "-p", str(root))
    assert result.exit_code == 5
    assert "connection 'app' slot hw_nowal: logical decoding requires" in result.output
    assert "Traceback" not in result.output


def test_the_slot_snapshot_and_the_changes_after_it_are_every_change_once(customers: str) -> None:
    """A row committed between the slot's creation and the snapshot's read is not in the
    snapshot (it is the table at the slot's consistent point) but in the changes."""
    from headwater.sources.cdc.changes import ChangeTable
    from headwater.sources.cdc.load import _read_snapshot

    with slots.connect(customers, connection="app", replication=False) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            slots.prepare(cur, "hw_exact", "public", "customers")
        with slots.connect(customers, connection="app", replication=True) as rconn:
            point, snapshot = slots.create_slot(rconn.cursor(), "hw_exact")
            _sql(customers, "insert into customers values (8, 'late', 8, null)")
            types = {"id": (23, -1), "name": (25, -1), "amount": (1700, 655366), "note": (25, -1)}
            snap = ChangeTable(tuple(types), types, where="t", key=["id"])
            _read_snapshot(conn, snapshot, ("public", "customers"), snap, point)
        with conn.cursor() as cur:
            stream = slots.read_changes(
                cur,
                "hw_exact",
                start=point,
                until=1 << 62,
                table=("public", "customers"),
                max_changes=None,
            )
    assert sorted(r[0] for r in snap.rows) == ["1", "2", "3"]
    assert [
        (c.op, c.new[0] if c.new else None) for t in stream.transactions for c in t.changes
    ] == [("insert", "8")]


def test_several_tables_one_slot_each_and_a_truncate_needs_a_full_refresh(
    tmp_path: Path, customers: str
) -> None:
    _sql(
        customers,
        "create table orders (id int primary key, customer int)",
        "insert into orders values (1, 1)",
    )
    root = _project(tmp_path / "p", customers, slot="hw_multi")
    toml = root / "headwater.toml"
    toml.write_text(
        toml.read_text().replace('tables = ["customers"]', 'tables = ["customers", "orders"]')
    )
    assert invoke("run", "-p", str(root)).exit_code == 0
    with psycopg.connect(customers) as conn:
        names = conn.execute(
            "select slot_name from pg_replication_slots where slot_name like 'hw_multi%' order by 1"
        ).fetchall()
    assert names == [("hw_multi_customers",), ("hw_multi_orders",)]
    _sql(customers, "insert into orders values (2, 2)", "truncate customers")
    failed = invoke("run", "-p", str(root))
    assert failed.exit_code == 5
    assert (
        "public.customers was truncated: reload it with `headwater run --full-refresh`"
        in failed.output
    )
    assert query_warehouse(root, "select count(*) from raw.orders") == [
        (2,)
    ]  # the other table went on
    _sql(customers, "insert into customers values (9, 'new', 9, null)")
    assert (
        invoke("run", "--full-refresh", "--yes", "-s", "raw.customers", "-p", str(root)).exit_code
        == 0
    )
    assert _warehouse_rows(root) == _source_rows(customers) == [(9, "new", 9)]
    _sql(customers, "update customers set name = 'newer' where id = 9")
    assert invoke("run", "-p", str(root)).exit_code == 0
    assert _warehouse_rows(root) == _source_rows(customers)
