"""Compact state of one region's batch while the generator streams it out.

The generator must hold, until the batch is done, what later draws depend on: the new
orders (cart events are drawn per order item, the planted bad records are picked among the
orders) and the customers' sign-up times. :class:`OrderLog` keeps them as typed arrays of
whole seconds and small codes, about 20 bytes an order instead of about 1 KB of Python
objects, and rebuilds an :class:`~headwater.demo.dataset.Order` or
:class:`~headwater.demo.dataset.OrderItem` on demand. :func:`sorted_ints` sorts such an
array without turning it into a list of Python ints.

Every generated timestamp is a whole second (the generator draws whole seconds and shifts
by whole hours or minutes of time-zone offset), so the seconds since :data:`BASE` are exact.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, overload

from headwater.demo.catalog import (
    FOUNDATION_SHADE_WEIGHTS,
    OTHER_PRODUCT_WEIGHTS,
    foundation_sku,
    quantize,
)
from headwater.demo.dataset import STATUSES, Order, OrderItem

if TYPE_CHECKING:
    from headwater.demo.planting import PlantTarget

__all__ = [
    "BASE",
    "SKUS",
    "EventKeys",
    "OrderLog",
    "OrderView",
    "Sink",
    "from_seconds",
    "seconds",
    "sorted_ints",
]

BASE = datetime(2024, 1, 1)
"""Origin of the compact timestamps (before the first customer sign-up)."""
_SECOND = timedelta(seconds=1)
_STATUS = {s: i for i, s in enumerate(STATUSES)}
_CHUNK = 65_536
_ACTIONS = ("add", "remove")  # sorted: an event's code is its rank


SKUS: tuple[str, ...] = tuple(
    sorted({foundation_sku(s) for s in FOUNDATION_SHADE_WEIGHTS} | set(OTHER_PRODUCT_WEIGHTS))
)
"""Every SKU the generator sells, sorted: a SKU's code in the compact state is its rank."""


class Sink(Protocol):
    """Where :func:`~headwater.demo.generator.generate_region` sends the rows it makes (instead of keeping them)."""

    def row(self, region: str, table: str, row: Any) -> None:
        """A new row of ``table`` (customers, orders, order_items, cart_events)."""

    def planting(self, region: str, log: OrderLog) -> PlantTarget:
        """Where the planted bad records of the region's new orders ``log`` are applied."""


def seconds(ts: datetime) -> int:
    """Whole seconds from :data:`BASE` to the naive UTC ``ts``."""
    return (ts - BASE) // _SECOND


def from_seconds(value: int) -> datetime:
    """The naive UTC datetime ``value`` seconds after :data:`BASE`."""
    return BASE + timedelta(seconds=value)


def sorted_ints(values: array[int]) -> Iterator[int]:
    """The 64-bit integers of ``values`` in ascending order, in chunks (the sort runs in
    Arrow on the array's buffer: 16 bytes a value at most, never a list of them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.typecode != "q":
        values = array("q", values)
    arrow = pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])
    ordered = arrow.take(pc.sort_indices(arrow))
    for start in range(0, len(ordered), _CHUNK):
        yield from ordered.slice(start, _CHUNK).to_pylist()


class OrderLog:
    """One region's new orders of one batch (ids ``first_id`` upwards) and their items.

    ``skus`` maps a SKU to its code (its rank among the catalog's SKUs) and back."""

    def __init__(self, region: str, currency: str, first_id: int, skus: Sequence[str]) -> None:
        self.region, self.currency, self.first_id = region, currency, first_id
        self.skus = skus
        self.code = {s: i for i, s in enumerate(skus)}
        self.at, self.updated, self.customer = array("i"), array("i"), array("i")
        self.status = bytearray()
        self.item_end = array("i")  # items of order k: item_end[k-1] .. item_end[k]
        self.sku, self.qty, self.promo = array("H"), array("b"), bytearray()

    def __len__(self) -> int:
        return len(self.at)

    def add_order(self, order: Order) -> None:
        self.at.append(seconds(order.ordered_at))
        self.updated.append(seconds(order.updated_at))
        self.customer.append(order.customer_id)
        self.status.append(_STATUS[order.status])
        self.item_end.append(len(self.sku))

    def add_item(self, sku: str, quantity: int, promo: bool) -> None:
        """An item of the last added order (``promo``: sold 20% off its list price)."""
        self.sku.append(self.code[sku])
        self.qty.append(quantity)
        self.promo.append(promo)
        self.item_end[-1] = len(self.sku)

    def order(self, k: int) -> Order:
        """The ``k``-th order (0-based), as generated."""
        return Order(
            region=self.region,
            id=self.first_id + k,
            customer_id=self.customer[k],
            status=STATUSES[self.status[k]],
            ordered_at=from_seconds(self.at[k]),
            updated_at=from_seconds(self.updated[k]),
            currency=self.currency,
        )

    def item_skus(self, k: int) -> list[str]:
        """The SKUs of order ``k``'s items, line 1 first."""
        start = self.item_end[k - 1] if k else 0
        return [self.skus[c] for c in self.sku[start : self.item_end[k]]]

    def items(self, k: int, prices: dict[tuple[str, str], Decimal]) -> list[OrderItem]:
        """Order ``k``'s items as generated (``prices``: the regional list prices)."""
        start = self.item_end[k - 1] if k else 0
        out = []
        for line, j in enumerate(range(start, self.item_end[k]), start=1):
            sku = self.skus[self.sku[j]]
            price = prices[(self.region, sku)]
            if self.promo[j]:
                price = quantize(price * Decimal("0.8"), self.currency)
            at = from_seconds(self.at[k])
            out.append(OrderItem(self.region, self.first_id + k, line, sku, self.qty[j], price, at))
        return out


class OrderView(Sequence[Order]):
    """The orders of an :class:`OrderLog` as a read-only sequence (for ``random.sample``,
    which picks by position, so a view and a list of the same orders pick alike)."""

    def __init__(self, log: OrderLog) -> None:
        self.log = log

    def __len__(self) -> int:
        return len(self.log)

    @overload
    def __getitem__(self, k: int) -> Order: ...
    @overload
    def __getitem__(self, k: slice) -> Sequence[Order]: ...
    def __getitem__(self, k: int | slice) -> Order | Sequence[Order]:
        if isinstance(k, slice):
            return [self.log.order(i) for i in range(*k.indices(len(self.log)))]
        return self.log.order(k if k >= 0 else len(self.log) + k)


class EventKeys:
    """Cart events as one 64-bit key each: (seconds, customer, SKU rank, action rank), so
    that sorting the keys sorts the events as tuples would (time, then customer, SKU and
    action) without holding a tuple per event."""

    _SKU_BITS, _CUSTOMER_BITS = 10, 24

    def __init__(self, skus: Sequence[str]) -> None:
        """``skus``: every SKU an event may name, sorted."""
        self.keys, self.skus = array("q"), skus
        self.code = {s: i for i, s in enumerate(skus)}

    def append(self, event: tuple[datetime, int, str, str]) -> None:
        at, customer, sku, action = event
        if customer >= 1 << self._CUSTOMER_BITS or seconds(at) < 0:
            raise ValueError(f"cart event out of the compact range: {event}")
        key = (seconds(at) << self._CUSTOMER_BITS | customer) << self._SKU_BITS | self.code[sku]
        self.keys.append(key << 1 | _ACTIONS.index(action))

    def ordered(self) -> Iterable[tuple[datetime, int, str, str]]:
        sku_mask, customer_mask = (1 << self._SKU_BITS) - 1, (1 << self._CUSTOMER_BITS) - 1
        for key in sorted_ints(self.keys):
            action, key = _ACTIONS[key & 1], key >> 1
            sku, key = self.skus[key & sku_mask], key >> self._SKU_BITS
            customer, at = key & customer_mask, from_seconds(key >> self._CUSTOMER_BITS)
            yield at, customer, sku, action
