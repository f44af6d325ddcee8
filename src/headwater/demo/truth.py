"""The ground truth: the four questions answered in plain Python from the canonical records.

Definitions (shared by the SQL in ``queries/`` and checked against it by the tests):

- **Valid records.** An order is valid unless its ``ordered_at`` is unparseable (planted
  ``unparseable_date``); an invalid order is excluded with all its items. An item is valid if
  its order is valid, its quantity is positive (planted ``negative_quantity`` excluded) and
  its SKU is in the catalog ``catalog/products.jsonl`` (planted ``unknown_sku`` excluded). A
  duplicated order (planted ``duplicate_order_id``) counts once; malformed CSV lines
  (``malformed_line``) carry records that do not exist. After appended batches only the
  latest version of each row (highest ``updated_at`` per key) counts.
- **Sold.** An item is sold if it is valid and its order's (latest) status is ``placed``,
  ``paid``, ``shipped`` or ``delivered``; ``cancelled`` and ``returned`` orders do not count.
  Units are the sum of the sold items' quantities.
- **The foundation** is the product named ``PRO FILT'R Hydrating Longwear Foundation`` (any
  shade; other foundation products, e.g. "Soft Matte Longwear Foundation", do not count).
  **These products** are its shades #110, #150, #160, #255 and #490.
- Times are UTC. A customer is the pair (region, customer id).

Questions:

1. ``units_by_shade``: units of these products sold in the last complete calendar quarter
   before AS_OF (2026-11-20), i.e. ordered in [2026-07-01, 2026-10-01) UTC, per shade (all
   five shades present, 0 if none).
2. ``units_by_region``: foundation units sold (all shades, all time) per region (all four
   regions present); ``top_region`` is the region with the most (ties: first by name).
3. ``units_by_hour`` (0-23) and ``units_by_weekday`` (ISO, 1 = Monday .. 7 = Sunday): units
   of these products sold, all time, by the UTC hour / weekday of ``ordered_at`` (every
   bucket present, 0 if none).
4. ``add_then_remove_customers``: number of customers with a cart ``add`` of one of these
   products and a ``remove`` of the same SKU at a strictly later time (all time).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from headwater.demo.dataset import (
    AS_OF,
    FOCUS_SHADES,
    FOUNDATION_NAME,
    REGIONS,
    SOLD_STATUSES,
    CartEvent,
    Dataset,
    Order,
    OrderItem,
    Product,
)

__all__ = ["Answers", "Tally", "answers", "last_quarter", "top_region"]


@dataclass(frozen=True)
class Answers:
    """The answers to the four questions (see the module doc for the definitions)."""

    units_by_shade: dict[str, int]
    units_by_region: dict[str, int]
    top_region: str
    units_by_hour: dict[int, int]
    units_by_weekday: dict[int, int]
    add_then_remove_customers: int


def last_quarter(as_of: datetime = AS_OF) -> tuple[datetime, datetime]:
    """``[start, end)`` of the last complete calendar quarter before ``as_of``."""
    first_month = (as_of.month - 1) // 3 * 3 + 1
    end = datetime(as_of.year, first_month, 1)
    start = datetime(end.year - (first_month == 1), (first_month - 4) % 12 + 1, 1)
    return start, end


def top_region(units_by_region: dict[str, int]) -> str:
    """The region with the most units; ties go to the first region by name."""
    return min(units_by_region, key=lambda r: (-units_by_region[r], r))


def answers(ds: Dataset) -> Answers:
    """Answer the four questions from the dataset's current (latest) records."""
    tally = Tally(ds.products)
    for item in ds.items.values():
        order = ds.orders.get((item.region, item.order_id))
        if order is not None:
            tally.item(item, order)
    for e in ds.cart_events.values():
        tally.cart_event(e)
    return tally.answers()


class Tally:
    """The four answers, counted one record at a time (the streamed generator feeds it as it
    writes; :func:`answers` feeds it a whole dataset). Holds counters and, for question 4,
    one entry per (customer, SKU) with a cart event on one of *these products*."""

    def __init__(self, products: Iterable[Product]) -> None:
        products = list(products)
        self.catalog = {p.sku: p for p in products}
        self.foundation = {p.sku for p in products if p.name == FOUNDATION_NAME}
        self.focus = {s for s in self.foundation if self.catalog[s].shade in FOCUS_SHADES}
        self.quarter = last_quarter()
        self.by_shade = dict.fromkeys(sorted(FOCUS_SHADES), 0)
        self.by_region = dict.fromkeys(sorted(REGIONS), 0)
        self.by_hour = dict.fromkeys(range(24), 0)
        self.by_weekday = dict.fromkeys(range(1, 8), 0)
        self.first_add: dict[tuple[str, int, str], datetime] = {}
        self.last_remove: dict[tuple[str, int, str], datetime] = {}

    def item(self, item: OrderItem, order: Order, sign: int = 1) -> None:
        """Count ``item`` of ``order`` (``sign`` -1: uncount it, e.g. a row replaced later)."""
        if order.bad_ordered_at is not None or order.status not in SOLD_STATUSES:
            return
        if item.quantity <= 0 or item.sku not in self.catalog:
            return
        units = sign * item.quantity
        if item.sku in self.foundation:
            self.by_region[item.region] += units
        if item.sku in self.focus:
            at = order.ordered_at
            self.by_hour[at.hour] += units
            self.by_weekday[at.isoweekday()] += units
            if self.quarter[0] <= at < self.quarter[1]:
                shade = self.catalog[item.sku].shade
                assert shade is not None
                self.by_shade[shade] += units

    def cart_event(self, e: CartEvent) -> None:
        """Count a cart event (each event once)."""
        if e.sku not in self.focus:
            return
        key = (e.region, e.customer_id, e.sku)
        if e.action == "add":
            self.first_add[key] = min(self.first_add.get(key, e.at), e.at)
        elif e.action == "remove":
            self.last_remove[key] = max(self.last_remove.get(key, datetime.min), e.at)

    def answers(self) -> Answers:
        """The answers to the records counted so far."""
        removed = self.last_remove
        customers = {
            (r, c) for (r, c, s), t in self.first_add.items() if removed.get((r, c, s), t) > t
        }
        return Answers(
            units_by_shade=dict(self.by_shade),
            units_by_region=dict(self.by_region),
            top_region=top_region(self.by_region),
            units_by_hour=dict(self.by_hour),
            units_by_weekday=dict(self.by_weekday),
            add_then_remove_customers=len(customers),
        )
