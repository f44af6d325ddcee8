"""The written systems: layout, determinism, append semantics, planted records in files."""

from __future__ import annotations

import json
import sqlite3
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlglot
import yaml
from demo_file_checks import (
    SQLITE_REGIONS,
    count_bad_records,
    csv_lines,
    file_bytes,
    sqlite_dump,
    sqlite_rows,
)
from demo_raw_emulation import MARTS_ORDER, STAGING_ORDER
from sqlglot import exp

from headwater.demo.dataset import Dataset
from headwater.demo.generator import build_dataset
from headwater.demo.scaffold import PROJECT_TEMPLATE, init_project
from headwater.demo.writer import append_batch, read_state, write_dataset


def _snapshot(root: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    dumps = {r: sqlite_dump(root / "data" / f"{r}.sqlite") for r in SQLITE_REGIONS}
    return file_bytes(root), dumps


def test_layout(demo_project: Path) -> None:
    for region in SQLITE_REGIONS:
        assert (demo_project / "data" / f"{region}.sqlite").is_file()
    days = sorted(p.name for p in (demo_project / "drops" / "africa").iterdir())
    assert days == [f"day=2026-11-{d}" for d in range(15, 20)]
    for day in days:
        names = sorted(p.name for p in (demo_project / "drops" / "africa" / day).iterdir())
        assert names == ["cart_events.jsonl", "customers.csv", "order_items.csv", "orders.csv"]
    header, rows = csv_lines(demo_project / "catalog" / "rates.csv")
    assert header == ["day", "currency", "usd_per_unit"]
    assert rows[0][0] == "2025-01-01" and rows[-1][0] == "2026-11-19"
    assert len(rows) == 4 * len({r[0] for r in rows})
    assert {r[1] for r in rows} == {"EUR", "USD", "JPY", "ZAR"}
    products = [json.loads(x) for x in (demo_project / "catalog" / "products.jsonl").open()]
    assert {"sku", "name", "line", "shade", "base_price_usd"} == set(products[0])
    assert read_state(demo_project) is not None


def test_sqlite_declared_types(demo_project: Path) -> None:
    con = sqlite3.connect(demo_project / "data" / "europe.sqlite")
    types = {r[1]: r[2] for r in con.execute("pragma table_info(order_items)")}
    assert types["unit_price"] == "NUMERIC(12,2)" and types["quantity"] == "INTEGER"
    con = sqlite3.connect(demo_project / "data" / "north_america.sqlite")
    types = {r[1]: r[2] for r in con.execute("pragma table_info(order_items)")}
    assert types["qty"] == "INTEGER" and types["unit_price_cents"] == "INTEGER"
    con = sqlite3.connect(demo_project / "data" / "asia.sqlite")
    assert not [r for r in con.execute("pragma table_info(orders)") if r[5]]  # no primary key
    types = {r[1]: r[2] for r in con.execute("pragma table_info(cart_events)")}
    assert types["event_time"] == "INTEGER" and types["updated_at"] == "INTEGER"
    for region in SQLITE_REGIONS:
        con = sqlite3.connect(demo_project / "data" / f"{region}.sqlite")
        for table in ("customers", "orders", "order_items", "cart_events"):
            assert "updated_at" in {r[1] for r in con.execute(f"pragma table_info({table})")}
        assert "updated_at" not in {r[1] for r in con.execute("pragma table_info(products)")}


def test_region_formats(demo_project: Path) -> None:
    eu = sqlite_rows(demo_project / "data" / "europe.sqlite", "orders")
    assert {o["ordered_at"][-6:] for o in eu} >= {"+01:00", "+02:00"}
    na = sqlite_rows(demo_project / "data" / "north_america.sqlite", "orders")
    assert {o["status"] for o in na} >= {"DELIVERED", "CANCELLED"}
    assert len(na[0]["ordered_at"]) == 19 and "T" not in na[0]["ordered_at"]
    asia = sqlite_rows(demo_project / "data" / "asia.sqlite", "cart_events")
    assert {e["action"] for e in asia} == {"add_to_cart", "remove_from_cart"}


def test_planted_counts_match_the_files(demo_project: Path, full_ds: Dataset) -> None:
    assert count_bad_records(demo_project) == full_ds.planted


def test_planted_locations(demo_project: Path, full_ds: Dataset) -> None:
    for p in full_ds.planted_records:
        if p.location.startswith("drops/"):
            text = (demo_project / p.location).read_text()
            needle = p.detail if p.kind == "malformed_line" else f"\n{p.key[0]},"
            assert needle in text, p
        else:
            path, table = p.location.split(":")
            assert (demo_project / path).is_file() and table == p.table


def test_same_seed_same_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_dataset(build_dataset(scale=0.1, seed=3), a)
    write_dataset(build_dataset(scale=0.1, seed=3), b)
    assert _snapshot(a) == _snapshot(b)
    for region in SQLITE_REGIONS:
        name = f"data/{region}.sqlite"
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_append_batch_behaves_like_a_live_system(tmp_path: Path, small_ds: Dataset) -> None:
    live = tmp_path / "live"
    write_dataset(build_dataset(scale=0.1, seed=7, batches=1), live)
    files1, dumps1 = _snapshot(live)
    max1 = _max_updated(live)

    ds = append_batch(live)
    assert len(ds.batches) == 2 and ds.batches == small_ds.batches
    state = read_state(live)
    assert state is not None and state.batches == 2
    files2, dumps2 = _snapshot(live)
    # earlier drops untouched, one new day folder, rates extended by one day
    for name, content in files1.items():
        if name != "catalog/rates.csv":
            assert files2[name] == content, name
    new = {n.split("/")[2] for n in files2 if n not in files1}
    assert new == {"day=2026-11-20"}
    assert files2["catalog/rates.csv"].count(b"\n") == files1["catalog/rates.csv"].count(b"\n") + 4
    # SQLite: new rows inserted, changed rows updated in place, all later than batch 1
    for region in SQLITE_REGIONS:
        assert dumps2[region]["products"] == dumps1[region]["products"]
        for table in ("customers", "orders", "order_items", "cart_events"):
            before = _by_key(live, region, table, dumps1[region][table])
            after = _by_key(live, region, table, dumps2[region][table])
            assert before.keys() <= after.keys()
            added = [r for k, r in after.items() if k not in before]
            changed = [r for k, r in after.items() if k in before and r != before[k]]
            assert added, (region, table)
            if table in ("customers", "orders"):
                assert changed, (region, table)
            else:
                assert not changed, (region, table)
            for row in added + changed:
                assert _as_instant(row["updated_at"]) > max1[region], (region, table, row)
    # the same as writing both batches at once
    fresh = tmp_path / "fresh"
    write_dataset(small_ds, fresh)
    assert _snapshot(fresh) == (files2, dumps2)


def test_write_over_other_data_starts_again(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    write_dataset(build_dataset(scale=0.05, seed=1, batches=2), folder)
    with pytest.raises(ValueError, match="seed"):
        append_batch(folder, seed=2)
    write_dataset(build_dataset(scale=0.05, seed=1, batches=1), folder)
    assert not (folder / "drops" / "africa" / "day=2026-11-20").exists()
    state = read_state(folder)
    assert state is not None and state.batches == 1


def test_project_template(tmp_path: Path) -> None:
    config = tomllib.loads((PROJECT_TEMPLATE / "headwater.toml").read_text())
    assets = set()
    for name, src in config["sources"].items():
        if "connection" in src:
            assert config["connections"][src["connection"]]["url"].startswith("sqlite:///data/")
            assets |= {f"raw.{name}_{t}" for t in src["tables"]}
        else:
            assets.add(f"raw.{name}")
    assert "raw.north_america_order_items" in assets and "raw.catalog_rates" in assets
    assert len(assets) == 21
    # every model: a YAML header, references to known assets, in a valid build order
    order = [f"staging.{m}" for m in STAGING_ORDER] + [f"marts.{m}" for m in MARTS_ORDER]
    files = sorted((PROJECT_TEMPLATE / "models").rglob("*.sql"))
    assert sorted(f"{f.parent.name}.{f.stem}" for f in files) == sorted(order)
    for f in files:
        text = f.read_text()
        header = []
        for line in text.splitlines()[1:]:
            if not line.startswith("--   "):
                break
            header.append(line[5:])
        assert text.startswith("-- headwater:\n") and "description" in yaml.safe_load(
            "\n".join(header)
        )
        tree = sqlglot.parse_one(text, dialect="duckdb")
        ctes = {c.alias for c in tree.find_all(exp.CTE)}
        tables = [t for t in tree.find_all(exp.Table) if t.name]  # no generate_series(...)
        refs = {f"{t.db}.{t.name}" for t in tables if t.name not in ctes}
        me = order.index(f"{f.parent.name}.{f.stem}")
        for ref in refs:
            assert ref in assets or order.index(ref) < me, (f.name, ref)
    ds = init_project(tmp_path / "p", scale=0.05)
    assert (tmp_path / "p" / "headwater.toml").is_file() and ds.batches


def _by_key(root: Path, region: str, table: str, rows: list[Any]) -> dict[Any, dict[str, Any]]:
    con = sqlite3.connect(root / "data" / f"{region}.sqlite")
    names = [r[1] for r in con.execute(f"pragma table_info({table})")]
    con.close()
    dicts = [dict(zip(names, row, strict=True)) for row in rows]
    if table == "order_items":
        return {(d["order_id"], d["line_no"]): d for d in dicts}
    return {d["id"]: d for d in dicts}


def _as_instant(value: Any) -> Any:
    if isinstance(value, str) and value[-6] in "+-":
        return datetime.fromisoformat(value)
    return value  # naive local text (no DST change near the batches) or epoch seconds


def _max_updated(root: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for region in SQLITE_REGIONS:
        stamps = [
            _as_instant(r["updated_at"])
            for t in ("customers", "orders", "order_items", "cart_events")
            for r in sqlite_rows(root / "data" / f"{region}.sqlite", t)
        ]
        out[region] = max(stamps)
    return out
