"""The demo store's canonical records: what the regional systems *mean*, before each region's
formatting quirks are applied by :mod:`headwater.demo.writer`.

Every datetime here is a naive UTC datetime. Prices are :class:`~decimal.Decimal` amounts in
the region's currency (USD 39.00, JPY 5800, ...). A :class:`Dataset` is the history of
:class:`Batch` es; its ``customers`` / ``orders`` / ``items`` / ``cart_events`` dictionaries
hold the *latest* version of each row, keyed by the row's key including its region.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

__all__ = [
    "AS_OF",
    "COUNTRIES",
    "CURRENCY",
    "CUSTOMERS_START",
    "EMAIL_DOMAINS",
    "FIRST_DROP_DAY",
    "FIRST_NAMES",
    "FOCUS_SHADES",
    "FOUNDATION_NAME",
    "FOUNDATION_SHARE",
    "HISTORY_START",
    "HOUR_WEIGHTS",
    "LAST_NAMES",
    "ORDER_SHARE",
    "PLANTED_KINDS",
    "REGIONS",
    "REGION_ZONE",
    "SOLD_STATUSES",
    "STATUSES",
    "WEEKDAY_WEIGHTS",
    "Batch",
    "CartEvent",
    "Customer",
    "Dataset",
    "Malformed",
    "Order",
    "OrderItem",
    "Planted",
    "Product",
    "batch_window",
    "drop_day",
]

AS_OF = datetime(2026, 11, 20)
"""The demo's fixed "today" (UTC midnight). Batch 1 holds the history up to it."""
HISTORY_START = datetime(2025, 1, 1)
"""The first order of the history (UTC)."""
CUSTOMERS_START = datetime(2024, 10, 1)
"""The first customer sign-up (UTC)."""
FIRST_DROP_DAY = date(2026, 11, 15)
"""Batch 1's first Africa drop folder; it holds everything up to the end of that day."""

REGIONS: tuple[str, ...] = ("europe", "north_america", "asia", "africa")
CURRENCY: dict[str, str] = {
    "europe": "EUR",
    "north_america": "USD",
    "asia": "JPY",
    "africa": "ZAR",
}
REGION_ZONE: dict[str, str] = {
    "europe": "Europe/Paris",
    "north_america": "America/New_York",
    "asia": "Asia/Tokyo",
    "africa": "Africa/Johannesburg",
}

ORDER_SHARE: dict[str, float] = {
    "europe": 0.30,
    "north_america": 0.32,
    "asia": 0.22,
    "africa": 0.16,
}
"""Share of the orders per region."""
FOUNDATION_SHARE: dict[str, float] = {
    "europe": 0.17,
    "north_america": 0.27,
    "asia": 0.14,
    "africa": 0.21,
}
"""Probability that an order item is PRO FILT'R foundation, per region."""
HOUR_WEIGHTS = (2, 1, 1, 1, 1, 1, 2, 3, 4, 4, 5, 5, 7, 7, 5, 5, 5, 6, 8, 11, 14, 15, 11, 5)
"""Relative order volume per local hour: a lunch bump and an evening peak (20-22h)."""
WEEKDAY_WEIGHTS = (1.0, 0.95, 0.95, 1.0, 1.15, 1.5, 1.45)
"""Relative order volume per local weekday, Monday first: weekends are busier."""
FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "europe": ("Camille", "Lena", "Sofia", "Luca", "Hugo", "Emma", "Noah", "Mila", "Ines", "Jan"),
    "north_america": ("Ava", "Mia", "Liam", "Olivia", "Ethan", "Zoe", "Maya", "Jayden", "Chloe"),
    "asia": ("Yuki", "Haruto", "Mei", "Ji-woo", "Aiko", "Ren", "Hana", "Minh", "Siti", "Kenji"),
    "africa": ("Thandi", "Amara", "Kofi", "Zanele", "Chidi", "Naledi", "Femi", "Ayo", "Lerato"),
}
LAST_NAMES: dict[str, tuple[str, ...]] = {
    "europe": ("Martin", "Muller", "Rossi", "Garcia", "de Vries", "O'Neill", "Dubois", "Novak"),
    "north_america": ("Smith", "Johnson", "Brown", "Nguyen", "Lopez", "O'Brien", "Clark", "Kim"),
    "asia": ("Sato", "Suzuki", "Tanaka", "Kim", "Park", "Nguyen", "Tan", "Watanabe", "Lee"),
    "africa": ("Nkosi", "Mensah", "Okafor", "Dlamini", "Adeyemi", "Mokoena", "Botha", "Naidoo"),
}
COUNTRIES: dict[str, tuple[str, ...]] = {
    "europe": ("FR", "FR", "DE", "DE", "IT", "ES", "NL", "BE", "PL"),
    "north_america": ("US", "US", "US", "US", "CA", "CA", "MX"),
    "asia": ("JP", "JP", "JP", "KR", "KR", "SG", "VN", "MY"),
    "africa": ("ZA", "ZA", "ZA", "NG", "KE", "GH", "BW"),
}
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "mail.example", "inbox.example", "post.example")
"""The generated customers' names, countries (repeated: weights) and e-mail domains."""

FOUNDATION_NAME = "PRO FILT'R Hydrating Longwear Foundation"
FOCUS_SHADES: tuple[str, ...] = ("#110", "#150", "#160", "#255", "#490")
"""The shades the questions ask about (of the product named :data:`FOUNDATION_NAME`)."""

STATUSES: tuple[str, ...] = ("placed", "paid", "shipped", "delivered", "cancelled", "returned")
SOLD_STATUSES: frozenset[str] = frozenset({"placed", "paid", "shipped", "delivered"})
"""An order's items count as sold unless the order is ``cancelled`` or ``returned``."""

PLANTED_KINDS: tuple[str, ...] = (
    "unparseable_date",
    "negative_quantity",
    "unknown_sku",
    "duplicate_order_id",
    "malformed_line",
)


def batch_window(number: int) -> tuple[datetime, datetime]:
    """The UTC interval ``[start, end)`` holding every timestamp written by batch ``number``:
    batch 1 is ``[HISTORY_START, AS_OF)`` (customers may be older), batch k >= 2 is the UTC
    day ``AS_OF + (k - 2)`` days."""
    if number == 1:
        return HISTORY_START, AS_OF
    start = AS_OF + timedelta(days=number - 2)
    return start, start + timedelta(days=1)


def drop_day(batch: int, updated_at: datetime) -> date:
    """The Africa drop folder (``day=YYYY-MM-DD``) a row version written by ``batch`` lands
    in: the UTC day of its ``updated_at``, and batch 1's oldest rows all in its first folder."""
    if batch == 1:
        return max(FIRST_DROP_DAY, updated_at.date())
    return batch_window(batch)[0].date()


@dataclass(frozen=True)
class Product:
    """A catalog product (one SKU = one product in one shade)."""

    sku: str
    name: str
    line: str
    shade: str | None
    base_price_usd: Decimal


@dataclass(frozen=True)
class Customer:
    region: str
    id: int
    email: str
    name: str
    country: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Order:
    """An order. ``bad_ordered_at`` is the unparseable text written instead of
    ``ordered_at`` for a planted bad record (such an order is invalid, with its items)."""

    region: str
    id: int
    customer_id: int
    status: str
    ordered_at: datetime
    updated_at: datetime
    currency: str
    bad_ordered_at: str | None = None


@dataclass(frozen=True)
class OrderItem:
    region: str
    order_id: int
    line_no: int
    sku: str
    quantity: int
    unit_price: Decimal
    updated_at: datetime


@dataclass(frozen=True)
class CartEvent:
    region: str
    id: int
    customer_id: int
    sku: str
    action: str  # "add" | "remove"
    at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Planted:
    """One planted bad record: its kind, where it is, and the key of the row concerned
    (``(order id,)``, ``(order id, line no)``, or the phantom id of a malformed line)."""

    kind: str
    region: str
    table: str
    key: tuple[int, ...]
    batch: int
    location: str
    detail: str = ""


@dataclass(frozen=True)
class Malformed:
    """A CSV line with a wrong number of columns, inserted in an Africa drop file after
    ``after_row`` data rows (the phantom record it carries exists nowhere else)."""

    table: str
    text: str
    after_row: int
    day: date


@dataclass
class Batch:
    """What one generator batch writes: new rows and new versions of existing rows."""

    number: int
    start: datetime
    end: datetime
    inserted: dict[str, list[Any]] = field(default_factory=dict)
    updated: dict[str, list[Any]] = field(default_factory=dict)
    duplicates: list[tuple[str, int]] = field(default_factory=list)  # (region, order id)
    malformed: list[Malformed] = field(default_factory=list)  # Africa only
    planted: list[Planted] = field(default_factory=list)

    @property
    def drop_day(self) -> date:
        """This batch's (last) Africa drop folder day."""
        return (self.end - timedelta(days=1)).date()


@dataclass
class Dataset:
    """The generated store: catalog, rates, the batches, and the current state of the rows."""

    seed: int
    scale: float
    products: list[Product]
    regional_prices: dict[tuple[str, str], Decimal]  # (region, sku) -> local list price
    rates: dict[tuple[date, str], Decimal]  # (day, currency) -> USD per unit
    batches: list[Batch] = field(default_factory=list)
    customers: dict[tuple[str, int], Customer] = field(default_factory=dict)
    orders: dict[tuple[str, int], Order] = field(default_factory=dict)
    items: dict[tuple[str, int, int], OrderItem] = field(default_factory=dict)
    cart_events: dict[tuple[str, int], CartEvent] = field(default_factory=dict)

    @property
    def planted_records(self) -> list[Planted]:
        """Every planted bad record, in batch order."""
        return [p for b in self.batches for p in b.planted]

    @property
    def planted(self) -> dict[str, int]:
        """Count of planted bad records per kind (every kind of PLANTED_KINDS present)."""
        counts = dict.fromkeys(PLANTED_KINDS, 0)
        for p in self.planted_records:
            counts[p.kind] += 1
        return counts

    @property
    def end(self) -> datetime:
        """The end (exclusive, UTC) of the last batch's window."""
        return self.batches[-1].end if self.batches else AS_OF
