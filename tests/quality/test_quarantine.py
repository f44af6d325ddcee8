"""Quarantine: split a staged load inside its transaction, summarise, release, discard."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from headwater.errors import SourceError
from headwater.quality import (
    QuarantineLimitExceeded,
    discard,
    parse_checks,
    quarantine_results,
    quarantine_summary,
    release,
    run_checks,
    split_quarantine,
)
from headwater.quality.quarantine import META_COLUMNS
from headwater.quality.release import RELEASED

ROWS = """
    select * from (values
        (1, 'a@x.com', 'placed',  2, 'A'),
        (2, null,      'placed',  1, 'B'),
        (3, 'c@x.com', 'bogus',   1, 'A'),
        (4, null,      'weird',   3, 'Z'),
        (5, 'e@x.com', 'shipped', -1, 'B'),
        (6, 'f@x.com', 'shipped', 4, 'A')
    ) v(id, email, status, qty, sku)
"""

CHECKS = [
    {"type": "not_null", "column": "email", "on_fail": "quarantine"},
    {
        "type": "accepted_values",
        "column": "status",
        "values": ["placed", "shipped"],
        "on_fail": "quarantine",
    },
    {"type": "range", "column": "qty", "min": 0},  # not a quarantine check: ignored by the split
]


def spec(tmp_path: Path, items: list[dict]):
    return parse_checks(items, path=tmp_path / "headwater.toml", text="", quarantine_allowed=True)


def load(cur: duckdb.DuckDBPyConnection, rows_sql: str, load_id: int, checks, asset="raw.orders"):
    """What the engine's load does: stage, split, write the good rows, commit."""
    cur.execute("begin transaction")
    try:
        cur.execute(f"create or replace temp table _hw_new as {rows_sql}")
        counts = split_quarantine(cur, "_hw_new", asset, load_id, checks)
        cur.execute("create schema if not exists raw")
        cur.execute("create table if not exists raw.orders as select * from _hw_new limit 0")
        cur.execute("insert into raw.orders by name select * from _hw_new")
        cur.execute("commit")
    except BaseException:
        cur.execute("rollback")
        raise
    finally:
        cur.execute("drop table if exists _hw_new")
    return counts


def quarantined(cur) -> list[tuple]:
    return cur.execute(
        "select id, _hw_check, _hw_reason, _hw_load_id from quarantine.orders order by id"
    ).fetchall()


def test_split_moves_failing_rows_once_with_all_reasons(tmp_path: Path, cur) -> None:
    checks = spec(tmp_path, CHECKS)
    counts = load(cur, ROWS, 101, checks)
    assert counts == {"not_null_email": 2, "accepted_values_status": 2}
    assert [r[0] for r in cur.execute("select id from raw.orders order by id").fetchall()] == [
        1,
        5,
        6,
    ]
    assert quarantined(cur) == [
        (2, "not_null_email", "not_null_email: email is null", 101),
        (
            3,
            "accepted_values_status",
            "accepted_values_status: status is not one of 'placed', 'shipped'",
            101,
        ),
        (
            4,
            "not_null_email,accepted_values_status",
            "not_null_email: email is null; accepted_values_status: status is not one of "
            "'placed', 'shipped'",
            101,
        ),
    ]
    columns = cur.execute("describe quarantine.orders").fetchall()
    assert [c[0] for c in columns] == [*META_COLUMNS, "id", "email", "status", "qty", "sku"]
    assert [c[1] for c in columns][3:] == [
        "TIMESTAMP WITH TIME ZONE",
        "INTEGER",
        "VARCHAR",
        "VARCHAR",
        "INTEGER",
        "VARCHAR",
    ]


def test_reextracted_rows_are_not_quarantined_twice(tmp_path: Path, cur) -> None:
    checks = spec(tmp_path, CHECKS)
    load(cur, ROWS, 101, checks)
    counts = load(cur, ROWS + " where id in (2, 4)", 102, checks)
    assert counts == {"not_null_email": 2, "accepted_values_status": 1}
    assert len(quarantined(cur)) == 3  # unchanged
    assert [r[3] for r in quarantined(cur)] == [101] * 3


def test_rollback_leaves_no_quarantine(tmp_path: Path, cur) -> None:
    checks = spec(tmp_path, CHECKS)
    cur.execute("begin transaction")
    cur.execute(f"create temp table _hw_new as {ROWS}")
    split_quarantine(cur, "_hw_new", "raw.orders", 101, checks)
    cur.execute("rollback")
    n = cur.execute(
        "select count(*) from information_schema.tables where table_schema = 'quarantine'"
    ).fetchone()[0]
    assert n == 0


def test_error_if_refuses_the_load(tmp_path: Path, cur) -> None:
    checks = spec(
        tmp_path,
        [{"type": "not_null", "column": "email", "on_fail": "quarantine", "error_if": "> 30%"}],
    )
    with pytest.raises(QuarantineLimitExceeded) as info:
        load(cur, ROWS, 101, checks)
    assert "load 101 refused, nothing written" in str(info.value)
    assert "2 of 6 rows (33.3%) failing: email is null [error_if > 30%]" in str(info.value)
    (result,) = info.value.results
    assert result.status == "fail" and len(result.sample) == 2
    assert (
        cur.execute(
            "select count(*) from information_schema.tables where table_name = 'orders'"
        ).fetchone()[0]
        == 0
    )
    # at the edge: 2 of 6 is 33.3%, under 34%: quarantined, the load goes on
    checks = spec(
        tmp_path,
        [{"type": "not_null", "column": "email", "on_fail": "quarantine", "error_if": "> 34%"}],
    )
    assert load(cur, ROWS, 102, checks) == {"not_null_email": 2}


def test_quarantine_results(tmp_path: Path, cur) -> None:
    checks = spec(
        tmp_path,
        [*CHECKS[:1], {**CHECKS[1], "warn_if": "> 50%"}, CHECKS[2]],
    )
    counts = load(cur, ROWS, 101, checks)
    results = quarantine_results(counts, checks, "raw.orders", 6, cur=cur, load_id=101)
    assert [(r.check, r.status, r.failing, r.quarantined) for r in results] == [
        ("not_null_email", "warn", 2, True),
        ("accepted_values_status", "pass", 2, True),
    ]
    assert results[0].message == "2 of 6 rows (33.3%) quarantined: email is null"
    assert sorted(r["id"] for r in results[0].sample) == [2, 4]
    clean = quarantine_results({"not_null_email": 0}, checks[:1], "raw.orders", 6)
    assert clean[0].status == "pass"


def test_no_quarantine_checks_is_a_no_op(tmp_path: Path, cur) -> None:
    assert load(cur, ROWS, 101, spec(tmp_path, CHECKS[2:])) == {}
    assert cur.execute("select count(*) from raw.orders").fetchone()[0] == 6


def test_relationships_and_unique_quarantine(tmp_path: Path, cur) -> None:
    cur.execute(
        "create schema if not exists raw; create table raw.products as select * from (values ('A'), ('B')) v(sku)"
    )
    checks = spec(
        tmp_path,
        [
            {
                "type": "relationships",
                "column": "sku",
                "to": "raw.products",
                "on_fail": "quarantine",
            },
            {"type": "unique", "columns": ["qty"], "on_fail": "quarantine"},
        ],
    )
    counts = load(cur, ROWS, 101, checks)
    assert counts == {"relationships_sku": 1, "unique_qty": 2}
    assert [r[0] for r in quarantined(cur)] == [2, 3, 4]


def test_new_columns_are_added_to_the_quarantine_table(tmp_path: Path, cur) -> None:
    checks = spec(tmp_path, CHECKS[:1])
    load(cur, ROWS, 101, checks)
    cur.execute("alter table raw.orders add column note varchar")
    load(
        cur,
        "select 7 as id, null as email, 'placed' as status, 1 as qty, 'A' as sku, 'hi' as note",
        102,
        checks,
    )
    assert cur.execute("select note from quarantine.orders where id = 7").fetchone() == ("hi",)


def test_a_column_named_rowid(tmp_path: Path, cur) -> None:
    checks = spec(tmp_path, CHECKS[:1])
    cur.execute("begin transaction")
    cur.execute(f"create temp table _hw_new as select id * 100 as rowid, * from ({ROWS})")
    assert split_quarantine(cur, "_hw_new", "raw.orders", 101, checks) == {"not_null_email": 2}
    assert cur.execute("select count(*) from _hw_new").fetchone()[0] == 4
    assert cur.execute("select rowid from quarantine.orders order by 1").fetchall() == [
        (200,),
        (400,),
    ]
    cur.execute("commit")


def test_summary(tmp_path: Path, cur) -> None:
    load(cur, ROWS, 101, spec(tmp_path, CHECKS))
    load(
        cur,
        "select 8 as id, null as email, 'placed' as status, 1 as qty, 'A' as sku",
        102,
        spec(tmp_path, CHECKS),
    )
    groups = quarantine_summary(cur)
    assert [(g.table, g.checks, g.rows, g.loads) for g in groups] == [
        ("orders", "not_null_email", 2, 2),
        ("orders", "accepted_values_status", 1, 1),
        ("orders", "not_null_email,accepted_values_status", 1, 1),
    ]
    assert groups[0].first_at is not None and groups[0].first_at.tzinfo is not None
    assert quarantine_summary(cur, "raw.orders") == groups
    assert quarantine_summary(cur, "raw.customers") == []


def test_release_round_trip(tmp_path: Path, cur) -> None:
    load(cur, ROWS, 101, spec(tmp_path, CHECKS))
    # the business adds 'weird' and 'bogus' to the accepted statuses
    now = spec(
        tmp_path,
        [CHECKS[0], {**CHECKS[1], "values": ["placed", "shipped", "bogus", "weird"]}],
    )
    cur.execute("begin transaction")
    released = release(cur, "raw.orders", checks=now, check="accepted_values_status")
    assert (released.relation, released.rows, released.remaining) == (RELEASED, 1, 1)
    assert released.columns == ("id", "email", "status", "qty", "sku")
    # the caller merges the released rows into the raw table in the same transaction
    cur.execute(f"insert into raw.orders by name {released.sql}")
    cur.execute(f"drop table {RELEASED}")
    cur.execute("commit")
    assert cur.execute("select status from raw.orders where id = 3").fetchone() == ("bogus",)
    # row 4 still has no email: it stays, and so does row 2
    assert [r[0] for r in quarantined(cur)] == [2, 4]
    # nothing left to release under the current checks
    cur.execute("begin transaction")
    again = release(cur, "raw.orders", checks=now)
    cur.execute("commit")
    assert (again.rows, again.remaining) == (0, 2)
    # a forced release takes them all
    cur.execute("begin transaction")
    forced = release(cur, "raw.orders", checks=now, force=True, load_id=101)
    cur.execute("rollback")  # ... unless the caller rolls back
    assert forced.rows == 2
    assert [r[0] for r in quarantined(cur)] == [2, 4]


def test_release_after_the_check_is_removed(tmp_path: Path, cur) -> None:
    load(cur, ROWS, 101, spec(tmp_path, CHECKS))
    cur.execute("begin transaction")
    released = release(cur, "raw.orders", checks=spec(tmp_path, CHECKS[:1]))
    ids = sorted(r[0] for r in cur.execute(f"select id from {RELEASED}").fetchall())
    cur.execute("commit")
    assert ids == [3] and released.remaining == 2


def test_release_and_discard_of_unknown_asset(tmp_path: Path, cur) -> None:
    assert release(cur, "raw.none", checks=()).rows == 0
    assert release(cur, "raw.none", checks=()).sql is None
    assert discard(cur, "raw.none") == 0


def test_discard(tmp_path: Path, cur) -> None:
    load(cur, ROWS, 101, spec(tmp_path, CHECKS))
    assert discard(cur, "raw.orders", check="accepted_values_status") == 2
    assert [r[0] for r in quarantined(cur)] == [2]
    assert discard(cur, "raw.orders", load_id=202) == 0
    assert discard(cur, "raw.orders") == 1


def test_a_type_change_keeps_every_value_as_text(tmp_path: Path, cur) -> None:
    checks = spec(tmp_path, CHECKS[:1])
    load(cur, ROWS, 101, checks)
    # the next extract has qty as text (a CSV drop) and an all-null email typed INTEGER
    cur.execute("alter table raw.orders alter column qty type varchar")
    rows = "select 9 as id, null as email, 'placed' as status, 'lots' as qty, 'A' as sku"
    load(cur, rows, 102, checks)
    load(cur, rows, 103, checks)  # not quarantined twice, even compared as text
    types = dict(
        cur.execute("select column_name, column_type from (describe quarantine.orders)").fetchall()
    )
    assert types["qty"] == "VARCHAR" and types["email"] == "VARCHAR"
    assert cur.execute("select id, qty from quarantine.orders order by id").fetchall() == [
        (2, "1"),
        (4, "3"),
        (9, "lots"),
    ]


def test_a_broken_predicate_reports_the_engine_error(tmp_path: Path, cur) -> None:
    checks = spec(
        tmp_path,
        [{"type": "relationships", "column": "sku", "to": "raw.nowhere", "on_fail": "quarantine"}],
    )
    cur.execute("begin transaction")
    cur.execute(f"create temp table _hw_new as {ROWS}")
    with pytest.raises(
        SourceError,
        match=r"raw.orders: the quarantine checks could not run: .*nowhere.*checks: relationships_sku \(.*headwater.toml:1\)",
    ):
        split_quarantine(cur, "_hw_new", "raw.orders", 101, checks)
    cur.execute("rollback")


def test_quarantine_and_run_checks_judge_a_row_alike(tmp_path: Path, cur) -> None:
    """2**53 + 1 is beyond DOUBLE's precision: only an exact comparison sees it above the
    bound. The check and the quarantine use the same typed predicate, so they agree."""
    limit = 2**53
    checks = spec(
        tmp_path, [{"type": "range", "column": "n", "max": limit, "on_fail": "quarantine"}]
    )
    rows = f"select * from (values ({limit}::BIGINT), ({limit + 1}::BIGINT), (1::BIGINT)) v(n)"
    cur.execute(f"create table staged as {rows}")
    (result,) = run_checks(cur, "raw.big", "staged", checks)
    assert result.failing == 1
    assert load(cur, rows, 101, checks, asset="raw.big") == {checks[0].name: 1}
    assert cur.execute("select n from quarantine.big").fetchall() == [(limit + 1,)]
