"""The planted bad records: which, how many, where.

Per batch and region, distinct new orders are picked at random (seeded) to carry them:

==================  ==========================================================  ============
kind                what                                                        batch 1
==================  ==========================================================  ============
unparseable_date    ``orders.ordered_at`` replaced by e.g. ``2026-13-45...``,    3 per region
                    ``not a date``, ``2025-02-30...`` (see :data:`BAD_DATES`)
negative_quantity   item line 1 of an order gets quantity -1..-3                2 per region
unknown_sku         item line 1 of an order gets a SKU missing from the         2 per region
                    catalog (see ``catalog.UNKNOWN_SKUS``)
duplicate_order_id  an order row written twice, identically: Asia's ``orders``  3 Asia,
                    table (no primary key) and the end of an Africa orders.csv  3 Africa
malformed_line      a CSV line with a wrong column count in batch 1's first     2 orders,
                    Africa drop, carrying a phantom record (id >= 900000000)    2 items,
                                                                                1 customers
==================  ==========================================================  ============

Batch-1 counts are multiplied by the scale (at least 1 each). Every later batch plants one
of each kind, rotating the region (duplicates alternate Asia / Africa, malformed lines are
always in Africa's new drop).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from headwater.demo.catalog import UNKNOWN_SKUS
from headwater.demo.dataset import (
    FIRST_DROP_DAY,
    REGIONS,
    Batch,
    Dataset,
    Malformed,
    Order,
    OrderItem,
    Planted,
    drop_day,
)

__all__ = ["BAD_DATES", "PHANTOM_BASE", "InMemory", "PlantTarget", "plant", "planted_counts"]

BAD_DATES = {
    "europe": ("2026-13-45T10:00:00+01:00", "not a date", "2025-02-30T09:15:00+01:00"),
    "north_america": ("2026-13-45 10:00:00", "N/A", "2025-02-30 09:15:00"),
    "asia": ("2026-13-45 01:00:00", "not a date", "0000-00-00 00:00:00"),
    "africa": ("2026-13-45T10:00:00+02:00", "not a date", "45/13/2026 10:00"),
}
"""Values written instead of ``orders.ordered_at`` for the planted ``unparseable_date``."""
PHANTOM_BASE = 900_000_000
"""Ids of the phantom records of malformed lines start here (no real row has such an id)."""


def planted_counts(batch: int, region: str, scale: float) -> dict[str, int]:
    """How many bad records of each order/item kind a batch plants in a region."""

    def per(base: float) -> int:
        return max(1, round(base * scale))

    if batch == 1:
        return {
            "unparseable_date": per(3),
            "negative_quantity": per(2),
            "unknown_sku": per(2),
            "duplicate_order_id": per(3) if region in ("asia", "africa") else 0,
        }
    return {
        "unparseable_date": int(REGIONS[batch % 4] == region),
        "negative_quantity": int(REGIONS[(batch + 1) % 4] == region),
        "unknown_sku": int(REGIONS[(batch + 2) % 4] == region),
        "duplicate_order_id": int(region == ("asia" if batch % 2 == 0 else "africa")),
    }


class PlantTarget(Protocol):
    """Where planted changes are applied: the rows already generated."""

    def line_one(self, order: Order) -> OrderItem:
        """Item line 1 of ``order`` as generated."""

    def replace(self, old: Order | OrderItem, new: Order | OrderItem) -> None:
        """``new`` (same key) instead of the generated row ``old``."""


class InMemory:
    """Plants into a dataset's state and its batch's row lists (:func:`build_dataset`)."""

    def __init__(self, ds: Dataset, batch: Batch) -> None:
        self.ds, self.batch = ds, batch

    def line_one(self, order: Order) -> OrderItem:
        return self.ds.items[(order.region, order.id, 1)]

    def replace(self, old: Order | OrderItem, new: Order | OrderItem) -> None:
        if isinstance(new, Order):
            self.ds.orders[(new.region, new.id)] = new
            rows = self.batch.inserted["orders"]
        else:
            self.ds.items[(new.region, new.order_id, new.line_no)] = new
            rows = self.batch.inserted["order_items"]
        rows[_index_of(rows, old)] = new


def plant(
    scale: float,
    batch: Batch,
    region: str,
    rng: random.Random,
    orders: Sequence[Order],
    target: PlantTarget,
) -> None:
    """Plant a batch's bad records among the region's new ``orders`` (already generated),
    changing them through ``target`` and recording them in ``batch.planted``."""
    counts = planted_counts(batch.number, region, scale)
    picks = rng.sample(orders, min(len(orders), sum(counts.values())))
    planted: list[Planted] = []
    for kind, count in counts.items():
        for j in range(count):
            if not picks:
                break
            o = picks.pop()
            if kind == "unparseable_date":
                bad = BAD_DATES[region][(len(batch.planted) + j) % 3]
                new_order = replace(o, bad_ordered_at=bad)
                target.replace(o, new_order)
                o = new_order
                where = _location(region, batch.number, "orders", o.updated_at)
                planted.append(Planted(kind, region, "orders", (o.id,), batch.number, where, bad))
            elif kind == "duplicate_order_id":
                batch.duplicates.append((region, o.id))
                where = _location(region, batch.number, "orders", o.updated_at)
                planted.append(Planted(kind, region, "orders", (o.id,), batch.number, where))
            else:
                item = target.line_one(o)
                if kind == "negative_quantity":
                    new = replace(item, quantity=-rng.randint(1, 3))
                    detail = str(new.quantity)
                else:
                    new = replace(item, sku=UNKNOWN_SKUS[(len(batch.planted) + j) % 5])
                    detail = new.sku
                target.replace(item, new)
                where = _location(region, batch.number, "order_items", item.updated_at)
                planted.append(
                    Planted(kind, region, "order_items", (o.id, 1), batch.number, where, detail)
                )
    if region == "africa":
        if batch.number == 1:
            tables = ["orders"] * max(1, round(2 * scale))
            tables += ["order_items"] * max(1, round(2 * scale))
            tables += ["customers"] * max(1, round(scale))
        else:
            tables = [("orders", "order_items", "customers")[batch.number % 3]]
        day = FIRST_DROP_DAY if batch.number == 1 else batch.drop_day
        for table in tables:
            pid = PHANTOM_BASE + batch.number * 1000 + len(batch.malformed)
            text = _malformed_text(table, pid)
            batch.malformed.append(Malformed(table, text, rng.randrange(50, 5000), day))
            where = f"drops/africa/day={day}/{table}.csv"
            planted.append(
                Planted("malformed_line", region, table, (pid,), batch.number, where, text)
            )
    batch.planted.extend(planted)


def _index_of(rows: list[Any], row: object) -> int:
    """Position of the very object ``row`` in ``rows`` (identity, not equality)."""
    return next(i for i in range(len(rows) - 1, -1, -1) if rows[i] is row)


def _location(region: str, batch: int, table: str, updated_at: datetime) -> str:
    if region == "africa":
        return f"drops/africa/day={drop_day(batch, updated_at)}/{table}.csv"
    return f"data/{region}.sqlite:{table}"


def _malformed_text(table: str, pid: int) -> str:
    ts = "2026-11-15T09:30:00+02:00"
    if table == "orders":  # a truncated export line: 4 columns instead of 6
        return f"{pid},1,delivered,{ts}"
    if table == "order_items":  # a stray trailing column: 7 instead of 6
        return f"{pid},1,PFH-110,2,721.90,{ts},{ts}"
    # an unquoted comma in the name: 7 columns instead of 6
    return f"{pid},naledi.dlamini.{pid}@example.com,Dlamini, Naledi,ZA,{ts},{ts}"
