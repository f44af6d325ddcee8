"""The faster query plans give the results of the general ones: ``unique`` on integer keys
(bitstrings per bucket), ``relationships`` (anti-join, sample by orphan keys), and the
type-aware ``range`` and ``accepted_values`` predicates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from headwater.quality import parse_checks, run_checks
from headwater.quality.compile import fail_predicate, relation_sql, unique_query
from headwater.quality.runner import column_types
from headwater.quality.spec import Check
from headwater.quality.unique import BUCKETS, KeySpace, buckets_query, measure_unique


def checks(tmp_path: Path, items: list[dict[str, Any]]) -> list[Check]:
    return parse_checks(items, path=tmp_path / "m.yml", text="", quarantine_allowed=True)


def general(cur, check: Check, relation: str) -> tuple[int, list[dict[str, Any]]]:
    """Failing count and sample of the general GROUP BY query."""
    row = cur.execute(unique_query(check, relation)).fetchone()
    return int(row[0]), json.loads(row[2] or "[]")


def fast(cur, check: Check, relation: str) -> tuple[int, int, list[dict[str, Any]]] | None:
    out = measure_unique(cur, check, relation, 5)
    if out is None:
        return None
    failing, total, sample = out
    return failing, total, json.loads(sample or "[]")


@pytest.mark.parametrize(
    ("rows", "failing"),
    [
        # 1..1000, then 7 twice more, 500 once more and a NULL: 3 + 2 rows of duplicated keys
        (
            "select i from range(1, 1001) r(i) union all select * from (values (7), (7), (500), (null))",
            5,
        ),
        ("select i from range(1, 1001) r(i) union all select null", 0),
        ("select null::integer as i from range(3)", 0),
        ("select i from range(0) r(i)", 0),
    ],
)
def test_unique_integer_fast_path(cur, rows: str, failing: int) -> None:
    cur.execute(f"create table t as select i::bigint as id from ({rows}) v(i)")
    check = Check("unique", "u", columns=("id",))
    got = fast(cur, check, "t")
    assert got is not None
    assert got[0] == failing == general(cur, check, "t")[0]
    assert got[1] == cur.execute("select count(*) from t").fetchone()[0]
    if failing:
        assert got[2][0] == {"id": 7, "_hw_count": 3}  # most duplicated first
        assert {r["id"] for r in got[2]} == {7, 500}


def test_unique_fast_path_through_run_checks(tmp_path: Path, cur) -> None:
    cur.execute(
        "create table t as select i as id, i % 7 as a, i // 7 as b from range(10000) r(i) "
        "union all select 42, 0, 6 union all select 9999, null, 1"
    )
    spec = checks(tmp_path, [{"unique": "id"}, {"unique": ["a", "b"]}])
    by_id, by_pair = run_checks(cur, "t", "t", spec)
    assert (by_id.status, by_id.failing, by_id.total) == ("fail", 4, 10002)
    assert {r["id"] for r in by_id.sample} == {42, 9999}
    assert (by_pair.failing, by_pair.sample) == (2, ({"a": 0, "b": 6, "_hw_count": 2},))


def test_unique_sparse_keys_fall_back(cur) -> None:
    """A key space much larger than the table (or not integers) takes the general query."""
    cur.execute(
        "create table t as select * from (values (1, 'a'), (1000000000000, 'b'), (1, 'a')) v(id, s)"
    )
    assert fast(cur, Check("unique", "u", columns=("id",)), "t") is None
    assert fast(cur, Check("unique", "u", columns=("s",)), "t") is None
    spec = [Check("unique", "u", columns=("id",)), Check("unique", "v", columns=("s",))]
    assert [r.failing for r in run_checks(cur, "t", "t", spec)] == [2, 2]


@pytest.mark.parametrize(
    ("typ", "lo", "hi"),
    [
        ("TINYINT", -128, 127),  # the offset 127 - (-128) overflows TINYINT
        ("UTINYINT", 0, 255),
        ("UBIGINT", 2**64 - 101, 2**64 - 1),
        ("HUGEINT", -(2**127), -(2**127) + 100),
        ("BIGINT", -(2**63), -(2**63) + 100),
    ],
)
def test_unique_fast_path_at_the_edges_of_integer_types(cur, typ: str, lo: int, hi: int) -> None:
    values = ", ".join(f"(CAST(({v}) AS {typ}))" for v in (lo, hi, hi, lo + 1))
    cur.execute(f"create table t as select * from (values {values}) v(k)")
    check = Check("unique", "u", columns=("k",))
    got = fast(cur, check, "t")
    assert got is not None and got[0] == 2 == general(cur, check, "t")[0]


def test_unique_compound_with_small_types(cur) -> None:
    cur.execute(
        "create table t as select (i % 256 - 128)::tinyint as a, (i // 256)::smallint as b "
        "from range(5000) r(i) union all select -128, 3 union all select null, 3"
    )
    check = Check("unique", "u", columns=("a", "b"))
    got = fast(cur, check, "t")
    assert got is not None
    assert got[0] == 2 == general(cur, check, "t")[0]
    assert got[2] == [{"a": -128, "b": 3, "_hw_count": 2}]


def test_unique_duplicates_everywhere(cur) -> None:
    """Duplicates in most buckets: the GROUP BY runs on every row, no bucket filter."""
    cur.execute(f"create table t as select i // 2 as id from range({4 * BUCKETS}) r(i)")
    check = Check("unique", "u", columns=("id",))
    got = fast(cur, check, "t")
    assert got is not None and got[0] == 4 * BUCKETS


def test_unique_data_changed_since_the_bounds(cur, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys outside the bounds read first (rows added in between) still give the exact
    answer; a key whose arithmetic overflows sends the check to the general query."""
    cur.execute("create table t (id BIGINT)")
    cur.execute("insert into t values (1), (2), (3), (9), (9), (5), (-7)")
    monkeypatch.setattr(
        "headwater.quality.unique.bounds_query", lambda check, rel: "SELECT 7, 1, 3, 'BIGINT'"
    )
    check = Check("unique", "u", columns=("id",))
    got = fast(cur, check, "t")
    assert got is not None
    assert got[0] == 2 == general(cur, check, "t")[0]
    assert got[2] == [{"id": 9, "_hw_count": 2}]

    cur.execute("insert into t values (-9223372036854775808)")  # id - 1 overflows BIGINT
    assert fast(cur, check, "t") is None
    (result,) = run_checks(cur, "t", "t", [check])
    assert (result.status, result.failing) == ("fail", 2)


def test_unique_buckets_alias_keys_outside_the_bounds(cur, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stale bounds make keys share bits across columns ((0, 4) lands on (1, 0)); that only
    flags a bucket, and the exact GROUP BY there finds no duplicate."""
    cur.execute("create table t as select * from (values (0, 4), (1, 0), (1, 1)) v(a, b)")
    stale = KeySpace(("a", "b"), (0, 0), (1, 3), ("INTEGER", "INTEGER"))
    assert cur.execute(buckets_query(stale, "t")).fetchall() == [(4, 2, 1)]  # key 4, twice
    monkeypatch.setattr(
        "headwater.quality.unique.bounds_query",
        lambda check, rel: "SELECT 3, 0, 1, 'INTEGER', 0, 3, 'INTEGER'",
    )
    assert fast(cur, Check("unique", "u", columns=("a", "b")), "t") == (0, 3, [])


def test_relationships_sample_by_orphan_keys(tmp_path: Path, cur) -> None:
    cur.execute(
        "create table dim as select date '2024-01-01' + i::integer as d from range(10) r(i);"
        "create table f as select i as n, date '2024-01-01' + (i % 12)::integer as d "
        "from range(120) r(i) union all select 999, null"
    )
    spec = checks(tmp_path, [{"type": "relationships", "column": "d", "to": "dim"}])
    (res,) = run_checks(cur, "f", "f", spec)
    assert res.failing == 20 and res.total == 121
    assert len(res.sample) == 5
    assert {r["d"] for r in res.sample} <= {"2024-01-11", "2024-01-12"}
    assert all(r["n"] % 12 >= 10 for r in res.sample)
    pred = fail_predicate(spec[0], "f")
    assert cur.execute(f"select count(*) from f as _hw_r where {pred}").fetchone()[0] == 20


def test_typed_predicates_find_the_same_rows(tmp_path: Path, cur) -> None:
    cur.execute(
        "create table t as select i::integer as q, (i / 4)::decimal(12, 2) as price, "
        "i::varchar as code, 's' || (i % 9) as status from range(-50, 200) r(i) "
        "union all select null, null, 'x1', null"
    )
    spec = checks(
        tmp_path,
        [
            {"type": "range", "column": "q", "min": 0, "max": 99.5},
            {"type": "range", "column": "price", "min": 0.25, "max": 40, "inclusive": False},
            {"type": "range", "column": "code", "min": 0, "max": 100},  # text: cast
            {"type": "accepted_values", "column": "status", "values": [f"s{i}" for i in range(7)]},
            {"type": "accepted_values", "column": "q", "values": list(range(0, 300, 2))},
        ],
    )
    types = column_types(cur, "t")
    assert types is not None and types["price"] == "DECIMAL(12,2)"
    rel = relation_sql("t")
    for check, result in zip(spec, run_checks(cur, "t", "t", spec), strict=True):
        typed, untyped = fail_predicate(check, "t", types), fail_predicate(check, "t")
        counts = [
            cur.execute(f"select count(*) from {rel} as _hw_r where {p}").fetchone()[0]
            for p in (typed, untyped)
        ]
        assert counts == [result.failing] * 2, (check.name, typed)
        assert result.status == "fail"
    assert "TRY_CAST" not in fail_predicate(spec[0], "t", types)
    assert "TRY_CAST" in fail_predicate(spec[2], "t", types)
    assert "list_contains" in fail_predicate(spec[3], "t", types)
    assert "NOT IN" in fail_predicate(spec[4], "t", types)


def test_column_types_of_a_missing_relation(cur) -> None:
    assert column_types(cur, "nope") is None
