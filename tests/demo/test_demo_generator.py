"""The generator in memory: determinism, batches, volumes, planted records, ground truth."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from headwater.demo.dataset import AS_OF, PLANTED_KINDS, REGIONS, Dataset, batch_window
from headwater.demo.generator import build_dataset
from headwater.demo.truth import answers, last_quarter
from headwater.demo.tz import ZONES, from_local, is_ambiguous, offset_at


def test_same_seed_same_dataset(small_ds: Dataset) -> None:
    again = build_dataset(scale=0.1, seed=7, batches=2)
    assert again.batches == small_ds.batches
    assert again.orders == small_ds.orders
    assert again.rates == small_ds.rates
    other = build_dataset(scale=0.1, seed=8, batches=1)
    assert other.batches[0] != small_ds.batches[0]


def test_batch_k_does_not_depend_on_later_batches(small_ds: Dataset) -> None:
    one = build_dataset(scale=0.1, seed=7, batches=1)
    three = build_dataset(scale=0.1, seed=7, batches=3)
    assert one.batches[0] == small_ds.batches[0] == three.batches[0]
    assert three.batches[1] == small_ds.batches[1]
    for key, rate in small_ds.rates.items():
        assert three.rates[key] == rate


def test_batch_windows_and_cursor_order(small_ds: Dataset) -> None:
    last_before = datetime.min
    for batch in small_ds.batches:
        start, end = batch_window(batch.number)
        rows = [r for rows in (*batch.inserted.values(), *batch.updated.values()) for r in rows]
        stamps = [r.updated_at for r in rows]
        assert max(stamps) < end
        assert all(t.microsecond == 0 for t in stamps)  # whole seconds, as the files hold
        if batch.number > 1:
            assert min(stamps) >= start > last_before
            assert batch.updated["orders"] and batch.updated["customers"]
        last_before = max(stamps)
    b2 = small_ds.batches[1]
    assert b2.start == AS_OF and b2.end == AS_OF + timedelta(days=1)


def test_appended_batch_updates_earlier_rows(small_ds: Dataset) -> None:
    batch2 = small_ds.batches[1]
    b1_orders = {(o.region, o.id): o for o in small_ds.batches[0].inserted["orders"]}
    for o in batch2.updated["orders"]:
        before = b1_orders[(o.region, o.id)]
        assert o.status != before.status
        assert o.updated_at > before.updated_at
        assert small_ds.orders[(o.region, o.id)] == o
    assert "returned" in {o.status for o in batch2.updated["orders"]}


def test_volumes_at_scale_one(full_ds: Dataset) -> None:
    ds = full_ds
    assert 19_000 <= len(ds.orders) <= 21_000
    assert 45_000 <= len(ds.items) <= 55_000
    assert Counter(region for region, _ in ds.orders).keys() == set(REGIONS)
    assert 20 <= sum(ds.planted.values()) <= 60
    assert ds.planted == {
        "unparseable_date": 12,
        "negative_quantity": 8,
        "unknown_sku": 8,
        "duplicate_order_id": 6,
        "malformed_line": 5,
    }
    first = min(o.ordered_at for o in ds.orders.values())
    last = max(o.ordered_at for o in ds.orders.values())
    assert first >= datetime(2025, 1, 1) and first < datetime(2025, 1, 3)
    assert AS_OF - timedelta(days=1) < last < AS_OF


def test_planted_records_are_consistent(small_ds: Dataset) -> None:
    counts = small_ds.planted
    assert set(counts) == set(PLANTED_KINDS) and all(counts.values())
    catalog = {p.sku for p in small_ds.products}
    for p in small_ds.planted_records:
        if p.kind == "unparseable_date":
            assert small_ds.orders[(p.region, p.key[0])].bad_ordered_at == p.detail
        elif p.kind == "negative_quantity":
            assert small_ds.items[(p.region, *p.key)].quantity < 0  # type: ignore[index]
        elif p.kind == "unknown_sku":
            assert small_ds.items[(p.region, *p.key)].sku not in catalog  # type: ignore[index]
        elif p.kind == "duplicate_order_id":
            assert p.region in ("asia", "africa")
            assert (p.region, p.key[0]) in small_ds.orders
        else:
            assert p.region == "africa" and p.location.startswith("drops/africa/day=")
    bad_orders = [o for o in small_ds.orders.values() if o.bad_ordered_at is not None]
    assert len(bad_orders) == counts["unparseable_date"]
    assert sum(i.quantity < 0 for i in small_ds.items.values()) == counts["negative_quantity"]
    assert sum(i.sku not in catalog for i in small_ds.items.values()) == counts["unknown_sku"]


def test_scale_multiplies_counts() -> None:
    small = build_dataset(scale=0.05, seed=7)
    assert 800 <= len(small.orders) <= 1_200
    assert all(small.planted.values())


def test_time_zone_rules_match_the_tz_database() -> None:
    try:
        ZoneInfo("Europe/Paris")
    except ZoneInfoNotFoundError:
        pytest.skip("no tz database on this machine")
    for name in ("Europe/Paris", "America/New_York", "Asia/Tokyo", "Africa/Johannesburg"):
        zone, real = ZONES[name], ZoneInfo(name)
        t = datetime(2024, 10, 1)
        while t < datetime(2027, 4, 1):
            aware = t.replace(tzinfo=ZoneInfo("UTC")).astimezone(real)
            assert offset_at(zone, t) == aware.utcoffset(), (name, t)
            t += timedelta(hours=7)
    ny = ZONES["America/New_York"]
    assert from_local(ny, datetime(2026, 11, 1, 1, 30)) is None  # happens twice
    assert from_local(ny, datetime(2026, 3, 8, 2, 30)) is None  # does not exist
    assert from_local(ny, datetime(2026, 7, 1, 12)) == datetime(2026, 7, 1, 16)


def test_north_america_local_times_are_never_ambiguous(small_ds: Dataset) -> None:
    ny = ZONES["America/New_York"]
    for o in small_ds.orders.values():
        if o.region == "north_america":
            for t in (o.ordered_at, o.updated_at):
                assert from_local(ny, t + offset_at(ny, t)) == t


def test_last_quarter() -> None:
    assert last_quarter() == (datetime(2026, 7, 1), datetime(2026, 10, 1))
    assert last_quarter(datetime(2026, 2, 3)) == (datetime(2025, 10, 1), datetime(2026, 1, 1))


def test_answers_have_clear_shapes(full_ds: Dataset) -> None:
    a = answers(full_ds)
    assert a.units_by_shade.keys() == {"#110", "#150", "#160", "#255", "#490"}
    assert all(v > 50 for v in a.units_by_shade.values())
    assert a.top_region == "north_america"
    runner_up = sorted(a.units_by_region.values())[-2]
    assert a.units_by_region["north_america"] > 1.3 * runner_up
    weekday, hours = a.units_by_weekday, a.units_by_hour
    assert min(weekday[6], weekday[7]) > max(weekday[d] for d in range(1, 5))
    assert sum(hours.values()) == sum(weekday.values())
    assert max(hours, key=hours.__getitem__) in (18, 19, 0, 1)  # evenings in Europe / America
    assert 100 < a.add_then_remove_customers < 2000


def test_ambiguous_hours() -> None:
    ny, paris = ZONES["America/New_York"], ZONES["Europe/Paris"]
    for zone in (ny, paris, ZONES["Asia/Tokyo"]):
        t = datetime(2026, 1, 1)
        while t < datetime(2027, 1, 1):
            local = t + offset_at(zone, t)
            assert is_ambiguous(zone, t) == (from_local(zone, local) is None), (zone.name, t)
            t += timedelta(minutes=30)
