"""The store demo's deterministic data generator.

:func:`build_dataset` builds, in memory and from a seed only, the history of four regional
stores (batch 1: 2025-01-01 up to :data:`~headwater.demo.dataset.AS_OF`) and optionally
further batches (one UTC day each, after AS_OF) that add rows and update existing ones the
way a live system does. Batches are built one after the other, each from its own seeded
random streams, so batch k is the same whatever number of batches follows.

At scale 1, batch 1 holds 20,000 orders, about 50,000 order items, 6,250 customers and
25,000 cart events; every further batch 300 orders (about 750 items), 60 customers and
about 400 cart events, plus 100-400 order status changes (orders moving along, returns of
recent orders) and about 30 e-mail changes. A few dozen bad records are planted (see :mod:`headwater.demo.planting`);
their exact count is ``Dataset.planted``.

:func:`generate_region` makes the same rows but hands each to a :class:`Sink` instead of
keeping it (:mod:`headwater.demo.stream`): memory does not grow with the scale.
"""

from __future__ import annotations

import bisect
import random
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from headwater.demo.catalog import (
    FOUNDATION_SHADE_WEIGHTS,
    OTHER_PRODUCT_WEIGHTS,
    build_products,
    build_rates,
    foundation_sku,
    quantize,
    regional_prices,
)
from headwater.demo.compact import (
    SKUS,
    EventKeys,
    OrderLog,
    OrderView,
    Sink,
    from_seconds,
    seconds,
    sorted_ints,
)
from headwater.demo.dataset import (
    COUNTRIES,
    CURRENCY,
    CUSTOMERS_START,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    FOUNDATION_SHARE,
    HISTORY_START,
    HOUR_WEIGHTS,
    LAST_NAMES,
    ORDER_SHARE,
    REGION_ZONE,
    REGIONS,
    WEEKDAY_WEIGHTS,
    Batch,
    CartEvent,
    Customer,
    Dataset,
    Order,
    OrderItem,
    batch_window,
)
from headwater.demo.planting import InMemory, PlantTarget, plant
from headwater.demo.tz import ZONES, from_local, is_ambiguous

__all__ = ["SKUS", "Sink", "build_dataset", "generate_region"]

_T = TypeVar("_T")


_NEXT_STATUS = {"placed": "paid", "paid": "shipped", "shipped": "delivered"}
_FOCUS_WEIGHTS = [(foundation_sku(s), w) for s, w in FOUNDATION_SHADE_WEIGHTS.items()]
_OTHER_WEIGHTS = list(OTHER_PRODUCT_WEIGHTS.items())


def build_dataset(scale: float = 1.0, seed: int = 7, batches: int = 1) -> Dataset:
    """Build the demo store in memory: ``batches`` batches (>= 1) from ``seed``, with row
    counts multiplied by ``scale``. Pure: no I/O, no clock, no global random state."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if batches < 1:
        raise ValueError(f"batches must be >= 1, got {batches}")
    products = build_products()
    ds = Dataset(seed=seed, scale=scale, products=products, regional_prices={}, rates={})
    ds.regional_prices = regional_prices(products)
    for number in range(1, batches + 1):
        start, end = batch_window(number)
        batch = Batch(number=number, start=start, end=end)
        for region in REGIONS:
            _RegionBatch(ds, batch, region, None).run()
        ds.batches.append(batch)
    ds.rates = build_rates(seed, (ds.end - timedelta(days=1)).date())
    return ds


def generate_region(ds: Dataset, batch: Batch, region: str, sink: Sink) -> None:
    """Generate batch 1's rows of ``region`` into ``sink`` as :func:`build_dataset` makes
    them; ``ds`` gets no rows, ``batch`` the planted records (later batches: build_dataset)."""
    if batch.number != 1:
        raise ValueError("only batch 1 streams; later batches update earlier rows")
    _RegionBatch(ds, batch, region, sink).run()


def _cumulative(weights: Iterable[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


_HOURS, _HOUR_CUM = tuple(range(24)), _cumulative(HOUR_WEIGHTS)
_N_ITEMS, _N_ITEMS_CUM = (1, 2, 3, 4, 5), _cumulative((25, 30, 22, 14, 9))
_QUANTITIES, _QUANTITIES_CUM = (1, 2, 3, 4, 5, 6), _cumulative((70, 20, 7, 1, 1, 1))
_FOCUS_SKUS, _FOCUS_CUM = [s for s, _ in _FOCUS_WEIGHTS], _cumulative(w for _, w in _FOCUS_WEIGHTS)
_OTHER_SKUS, _OTHER_CUM = [s for s, _ in _OTHER_WEIGHTS], _cumulative(w for _, w in _OTHER_WEIGHTS)


def _sec(rng: random.Random, lo: float, hi: float) -> timedelta:
    """A random whole number of seconds in [lo, hi]."""
    return timedelta(seconds=int(lo) + int(rng.random() * (int(hi) - int(lo) + 1)))


def _pick(rng: random.Random, population: Sequence[_T], cum_weights: list[float]) -> _T:
    """A weighted choice (like ``rng.choices(..., cum_weights=...)[0]``, faster)."""
    return population[bisect.bisect(cum_weights, rng.random() * cum_weights[-1])]


class _RegionBatch:
    """Generates one region's share of one batch: into the dataset state and the batch's
    row lists (``sink`` None), or into ``sink`` (batch 1 only; nothing is kept)."""

    def __init__(self, ds: Dataset, batch: Batch, region: str, sink: Sink | None) -> None:
        self.ds, self.batch, self.region, self.sink = ds, batch, region, sink
        self.rng = random.Random(f"headwater-demo:{ds.seed}:{batch.number}:{region}")
        self.zone = ZONES[REGION_ZONE[region]]
        self.currency = CURRENCY[region]
        share = ORDER_SHARE[region] * ds.scale
        if batch.number == 1:
            self.n_orders = max(24, round(20_000 * share))
            self.n_customers = max(8, round(self.n_orders / 3.2))
        else:
            self.n_orders = max(3, round(300 * share))
            self.n_customers = max(1, round(60 * share))
        self.share = share
        self._days: list[datetime] = []
        self._cum: list[float] = []

    # ------------------------------------------------------------------ helpers
    def _emit(self, table: str, row: object, *, update: bool) -> None:
        if self.sink is not None:
            self.sink.row(self.region, table, row)
            return
        target = self.batch.updated if update else self.batch.inserted
        target.setdefault(table, []).append(row)

    def _safe(self, utc: datetime) -> datetime:
        """Shift an instant whose local wall-clock time is ambiguous (North America stores
        naive local times) by whole hours until it is not."""
        while is_ambiguous(self.zone, utc):
            utc += timedelta(hours=1)
        return utc

    def _pattern_time(self) -> datetime:
        """A UTC instant inside the batch window, following the local hour/weekday pattern
        and, in batch 1, a growth trend (later days are busier)."""
        if not self._days:
            first = self.batch.start.date() - timedelta(days=1)
            n_days = (self.batch.end.date() - first).days + 1
            total = 0.0
            for i in range(n_days):
                day = datetime.combine(first + timedelta(days=i), datetime.min.time())
                trend = 1 + 1.2 * i / max(1, n_days - 1) if self.batch.number == 1 else 1.0
                total += trend * WEEKDAY_WEIGHTS[day.weekday()]
                self._days.append(day)
                self._cum.append(total)
        rng = self.rng
        while True:
            day = _pick(rng, self._days, self._cum)
            hour = _pick(rng, _HOURS, _HOUR_CUM)
            local = day + timedelta(hours=hour, seconds=int(rng.random() * 3600))
            utc = from_local(self.zone, local)
            if utc is not None and self.batch.start <= utc < self.batch.end:
                return utc

    def _sku(self, focus_share: float) -> str:
        if self.rng.random() < focus_share:
            return _pick(self.rng, _FOCUS_SKUS, _FOCUS_CUM)
        return _pick(self.rng, _OTHER_SKUS, _OTHER_CUM)

    def _next_id(self, keys: Iterable[tuple[Any, ...]]) -> int:
        if self.sink is not None:  # batch 1: the region has no rows yet
            return 1
        return max((k[1] for k in keys if k[0] == self.region), default=0) + 1

    # ------------------------------------------------------------------ the batch
    def run(self) -> None:
        previous_orders = [o for k, o in self.ds.orders.items() if k[0] == self.region]
        customers = self._customers()
        log = OrderLog(self.region, self.currency, self._next_id(self.ds.orders), SKUS)
        orders = self._orders(customers, log)
        self._cart_events(log, customers)
        if self.sink is None:
            target: PlantTarget = InMemory(self.ds, self.batch)
            plant(self.ds.scale, self.batch, self.region, self.rng, orders, target)
        else:
            target = self.sink.planting(self.region, log)
            plant(self.ds.scale, self.batch, self.region, self.rng, OrderView(log), target)
        if self.batch.number > 1:
            self._updates(previous_orders)

    def _customers(self) -> tuple[array[int], array[int]]:
        """New customers of this batch; returns the sign-up times (compact seconds) and ids
        of all the region's customers, by sign-up."""
        rng, batch = self.rng, self.batch
        if batch.number == 1:
            lo, hi = CUSTOMERS_START, batch.end - timedelta(days=1)
            times = [lo + _sec(rng, 0, (HISTORY_START - lo).total_seconds())]
            times += [
                lo + _sec(rng, 0, (hi - lo).total_seconds()) for _ in range(1, self.n_customers)
            ]
        else:
            span = (batch.end - batch.start).total_seconds() - 1
            times = [batch.start + _sec(rng, 0, span) for _ in range(self.n_customers)]
        next_id = self._next_id(self.ds.customers)
        created, ids = array("i"), array("i")
        for i, s in enumerate(sorted_ints(array("q", (seconds(self._safe(t)) for t in times)))):
            t, cid = from_seconds(s), next_id + i
            created.append(s)
            ids.append(cid)
            first, last = rng.choice(FIRST_NAMES[self.region]), rng.choice(LAST_NAMES[self.region])
            handle = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
            c = Customer(
                region=self.region,
                id=cid,
                email=f"{handle}.{cid}@{rng.choice(EMAIL_DOMAINS)}",
                name=f"{first} {last}",
                country=rng.choice(COUNTRIES[self.region]),
                created_at=t,
                updated_at=t,
            )
            if self.sink is None:
                self.ds.customers[(self.region, cid)] = c
            self._emit("customers", c, update=False)
        if self.sink is not None:  # batch 1: these are all the region's customers
            return created, ids
        mine = [c for k, c in self.ds.customers.items() if k[0] == self.region]
        mine.sort(key=lambda c: (c.created_at, c.id))
        return array("i", (seconds(c.created_at) for c in mine)), array("i", (c.id for c in mine))

    def _customer_at(self, customers: tuple[array[int], array[int]], t: datetime) -> int:
        created, ids = customers
        n = bisect.bisect_right(created, seconds(t))
        return ids[int(self.rng.random() * max(1, n))]

    def _status(self, t: datetime) -> tuple[str, datetime]:
        """Status of a new order at the end of the batch window, and its last change time."""
        rng, end = self.rng, self.batch.end
        age = end - t
        u = rng.random()
        if u < 0.04:
            status, changed = "cancelled", t + _sec(rng, 1800, 30 * 3600)
        elif age < timedelta(days=1):
            status, changed = rng.choice((("placed", t), ("paid", t + _sec(rng, 60, 1800))))
        elif age < timedelta(days=3):
            status, changed = "shipped", t + _sec(rng, 20 * 3600, 40 * 3600)
        elif u < 0.075 and age > timedelta(days=25):
            status, changed = "returned", t + _sec(rng, 10 * 86400, 20 * 86400)
        else:
            status, changed = "delivered", t + _sec(rng, 2 * 86400, 6 * 86400)
        changed = min(changed, end - timedelta(seconds=1))
        return status, self._safe(max(changed, t))

    def _orders(self, customers: tuple[array[int], array[int]], log: OrderLog) -> list[Order]:
        """The batch's new orders and their items, recorded in ``log``; returns them as
        objects when they are kept (no sink), else an empty list."""
        rng, region = self.rng, self.region
        draws = (seconds(self._safe(self._pattern_time())) for _ in range(self.n_orders))
        times = sorted_ints(array("q", draws))
        next_id = log.first_id
        orders = []
        for i, s in enumerate(times):
            t = from_seconds(s)
            status, changed = self._status(t)
            order = Order(
                region=region,
                id=next_id + i,
                customer_id=self._customer_at(customers, t),
                status=status,
                ordered_at=t,
                updated_at=changed,
                currency=self.currency,
            )
            log.add_order(order)
            if self.sink is None:
                orders.append(order)
            n_items = _pick(rng, _N_ITEMS, _N_ITEMS_CUM)
            skus: list[str] = []
            while len(skus) < n_items:
                sku = self._sku(FOUNDATION_SHARE[region])
                if sku not in skus:
                    skus.append(sku)
            for line_no, sku in enumerate(skus, start=1):
                price = self.ds.regional_prices[(region, sku)]
                promo = rng.random() < 0.1  # a promotion: 20% off
                if promo:
                    price = quantize(price * Decimal("0.8"), self.currency)
                qty = _pick(rng, _QUANTITIES, _QUANTITIES_CUM)
                item = OrderItem(region, order.id, line_no, sku, qty, price, t)
                log.add_item(sku, qty, promo)
                if self.sink is None:
                    self.ds.items[(region, order.id, line_no)] = item
                self._emit("order_items", item, update=False)
            if self.sink is None:
                self.ds.orders[(region, order.id)] = order
            self._emit("orders", order, update=False)
        return orders

    def _cart_events(self, log: OrderLog, customers: tuple[array[int], array[int]]) -> None:
        """Add-to-cart events before 30% of the purchased items, and browsing sessions: adds,
        some removed later, a few removed at the same second or before the add (which the
        "added then later removed" question must not count)."""
        rng, start, end = self.rng, self.batch.start, self.batch.end
        events = EventKeys(SKUS)  # (at, customer, sku, action), sorted at the end
        for k in range(len(log)):
            ordered_at, customer_id = from_seconds(log.at[k]), log.customer[k]
            for sku in log.item_skus(k):
                at = ordered_at - _sec(rng, 120, 90 * 60)
                if rng.random() < 0.3 and at >= start:
                    events.append((self._safe(at), customer_id, sku, "add"))
        for _ in range(max(4, round(0.35 * self.n_orders))):
            at = self._safe(self._pattern_time())
            cid = self._customer_at(customers, at)
            sku = self._sku(0.5)
            events.append((at, cid, sku, "add"))
            u = rng.random()
            removed = None
            if u < 0.35:
                removed = at + _sec(rng, 60, 600 * 60)
            elif u < 0.38:
                removed = at
            elif u < 0.41:
                removed = at - _sec(rng, 60, 120 * 60)
            if removed is not None and start <= removed < end:
                events.append((self._safe(removed), cid, sku, "remove"))
        if self.batch.number > 1:  # carts left open earlier, emptied today
            adds = [
                e
                for k, e in self.ds.cart_events.items()
                if k[0] == self.region and e.action == "add"
            ]
            span = (end - start).total_seconds() - 1
            for e in rng.sample(adds, min(len(adds), max(1, round(40 * self.share)))):
                at = self._safe(start + _sec(rng, 0, span))
                events.append((at, e.customer_id, e.sku, "remove"))
        next_id = self._next_id(self.ds.cart_events)
        for i, (at, cid, sku, action) in enumerate(events.ordered()):
            ev = CartEvent(self.region, next_id + i, cid, sku, action, at, at)
            if self.sink is None:
                self.ds.cart_events[(self.region, ev.id)] = ev
            self._emit("cart_events", ev, update=False)

    def _updates(self, previous: list[Order]) -> None:
        """New versions of earlier rows: orders move along their status, some delivered
        orders of the last 150 days are returned, some customers change their e-mail."""
        rng, batch, region = self.rng, self.batch, self.region
        frozen = {(p.region, p.key[0]) for p in self.ds.planted_records if p.table != "customers"}
        span = (batch.end - batch.start).total_seconds() - 1
        changes: list[Order] = []
        recent = batch.start - timedelta(days=150)
        delivered = []
        for o in previous:
            if (region, o.id) in frozen:
                continue
            if o.status in _NEXT_STATUS:
                status = "cancelled" if rng.random() < 0.1 else _NEXT_STATUS[o.status]
                changes.append(replace(o, status=status))
            elif o.status == "delivered" and o.ordered_at >= recent:
                delivered.append(o)
        n_returns = min(len(delivered), max(1, round(40 * self.share)))
        changes += [replace(o, status="returned") for o in rng.sample(delivered, n_returns)]
        for o in sorted(changes, key=lambda o: o.id):
            o = replace(o, updated_at=self._safe(batch.start + _sec(rng, 0, span)))
            self.ds.orders[(region, o.id)] = o
            self._emit("orders", o, update=True)
        olds = [c for k, c in self.ds.customers.items() if k[0] == region]
        olds = [c for c in olds if c.created_at < batch.start]
        for c in sorted(
            rng.sample(olds, min(len(olds), max(1, round(30 * self.share)))), key=lambda c: c.id
        ):
            local = c.email.split("@")[0]
            domains = [d for d in EMAIL_DOMAINS if not c.email.endswith(d)]
            new = replace(
                c,
                email=f"{local}@{rng.choice(domains)}",
                updated_at=self._safe(batch.start + _sec(rng, 0, span)),
            )
            self.ds.customers[(region, c.id)] = new
            self._emit("customers", new, update=True)
