"""How each regional system stores the canonical records: table layouts and value formats.

=============  =========================================================================
Region         Storage
=============  =========================================================================
europe         SQLite ``data/europe.sqlite``. Prices ``NUMERIC(12,2)`` euros. Timestamps
               TEXT ISO 8601 local time *with* offset, Europe/Paris
               (``2026-07-01T20:15:00+02:00``).
north_america  SQLite ``data/north_america.sqlite``. Prices INTEGER cents of USD
               (``price_cents``, ``unit_price_cents``), ``order_items.qty``,
               ``customers.full_name``, statuses in upper case. Timestamps TEXT *naive*
               local time of America/New_York (``2026-07-01 14:15:00``); the generator
               never writes a local time that is ambiguous (clocks going back).
asia           SQLite ``data/asia.sqlite``. Prices INTEGER yen. ``ordered_at`` and
               ``created_at`` TEXT naive UTC (``2026-07-01 18:15:00``); ``updated_at``
               and ``cart_events.event_time`` INTEGER epoch seconds; cart actions
               ``add_to_cart`` / ``remove_from_cart``. ``orders`` has no primary key
               (the planted duplicated orders are there).
africa         Nightly drops ``drops/africa/day=YYYY-MM-DD/``: ``customers.csv``,
               ``orders.csv``, ``order_items.csv`` (prices decimal rand, timestamps ISO
               8601 with the fixed offset ``+02:00``, Africa/Johannesburg) and
               ``cart_events.jsonl`` (``at`` and ``updated_at`` epoch milliseconds).
=============  =========================================================================

Every table has an ``updated_at`` column usable as an incremental cursor except
``products``, which has none (full extract). Within a region its values sort
chronologically (as text in Europe, North America and Africa; as integers in Asia), except
for Europe's text inside the hour repeated when clocks go back -- never at a batch boundary.
``order_items`` are keyed by ``(order_id, line_no)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from headwater.demo.dataset import CartEvent, Customer, Order, OrderItem, Product
from headwater.demo.tz import ZONES, epoch_ms, epoch_seconds, offset_at, to_local

__all__ = ["AFRICA_CSV", "SQLITE_REGIONS", "SQLITE_TABLES", "TableSpec", "africa_cart_event"]

SQLITE_REGIONS: tuple[str, ...] = ("europe", "north_america", "asia")

_PARIS, _NEW_YORK = ZONES["Europe/Paris"], ZONES["America/New_York"]
_SAST = timedelta(hours=2)


@lru_cache(maxsize=8)
def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def paris(ts: datetime) -> str:
    """``2026-07-01T20:15:00+02:00`` (Europe/Paris local time with its offset)."""
    off = offset_at(_PARIS, ts)
    return (ts + off).isoformat() + _offset_text(off)


def new_york(ts: datetime) -> str:
    """``2026-07-01 14:15:00`` (naive America/New_York local time)."""
    return to_local(_NEW_YORK, ts).isoformat(sep=" ")


def utc_text(ts: datetime) -> str:
    """``2026-07-01 18:15:00`` (naive UTC)."""
    return ts.isoformat(sep=" ")


def johannesburg(ts: datetime) -> str:
    """``2026-07-01T20:15:00+02:00`` (South African Standard Time, no daylight time)."""
    return (ts + _SAST).isoformat() + "+02:00"


def cents(amount: Decimal) -> int:
    return int(amount * 100)


Row = tuple[Any, ...]


@dataclass(frozen=True)
class TableSpec:
    """One source table: columns with their declared SQLite type, key, and row format."""

    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    row: Callable[[Any], Row]
    declare_primary_key: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def ddl(self, table: str) -> str:
        cols = [f"{name} {decl}" for name, decl in self.columns]
        if self.declare_primary_key:
            cols.append(f"PRIMARY KEY ({', '.join(self.key)})")
        return f"CREATE TABLE IF NOT EXISTS {table} (\n  " + ",\n  ".join(cols) + "\n)"


def _order_date(o: Order, fmt: Callable[[datetime], str]) -> str:
    return o.bad_ordered_at if o.bad_ordered_at is not None else fmt(o.ordered_at)


# fmt: off
def _europe() -> dict[str, TableSpec]:
    ts = paris
    return {
        "customers": TableSpec(
            (("id", "INTEGER"), ("email", "TEXT"), ("name", "TEXT"), ("country", "TEXT"),
             ("created_at", "TEXT"), ("updated_at", "TEXT")),
            ("id",),
            lambda c: (c.id, c.email, c.name, c.country, ts(c.created_at), ts(c.updated_at)),
        ),
        "products": TableSpec(
            (("sku", "TEXT"), ("name", "TEXT"), ("line", "TEXT"), ("shade", "TEXT"),
             ("price", "NUMERIC(12,2)"), ("currency", "TEXT")),
            ("sku",),
            lambda p: (p[0].sku, p[0].name, p[0].line, p[0].shade, str(p[1]), "EUR"),
        ),
        "orders": TableSpec(
            (("id", "INTEGER"), ("customer_id", "INTEGER"), ("status", "TEXT"),
             ("ordered_at", "TEXT"), ("updated_at", "TEXT"), ("currency", "TEXT")),
            ("id",),
            lambda o: (o.id, o.customer_id, o.status, _order_date(o, ts), ts(o.updated_at),
                       o.currency),
        ),
        "order_items": TableSpec(
            (("order_id", "INTEGER NOT NULL"), ("line_no", "INTEGER NOT NULL"), ("sku", "TEXT"),
             ("quantity", "INTEGER"), ("unit_price", "NUMERIC(12,2)"), ("updated_at", "TEXT")),
            ("order_id", "line_no"),
            lambda i: (i.order_id, i.line_no, i.sku, i.quantity, str(i.unit_price),
                       ts(i.updated_at)),
        ),
        "cart_events": TableSpec(
            (("id", "INTEGER"), ("customer_id", "INTEGER"), ("sku", "TEXT"), ("action", "TEXT"),
             ("at", "TEXT"), ("updated_at", "TEXT")),
            ("id",),
            lambda e: (e.id, e.customer_id, e.sku, e.action, ts(e.at), ts(e.updated_at)),
        ),
    }
# fmt: on


# fmt: off
def _north_america() -> dict[str, TableSpec]:
    ts = new_york
    return {
        "customers": TableSpec(
            (("id", "INTEGER"), ("email", "TEXT"), ("full_name", "TEXT"), ("country", "TEXT"),
             ("created_at", "TEXT"), ("updated_at", "TEXT")),
            ("id",),
            lambda c: (c.id, c.email, c.name, c.country, ts(c.created_at), ts(c.updated_at)),
        ),
        "products": TableSpec(
            (("sku", "TEXT"), ("name", "TEXT"), ("line", "TEXT"), ("shade", "TEXT"),
             ("price_cents", "INTEGER"), ("currency", "TEXT")),
            ("sku",),
            lambda p: (p[0].sku, p[0].name, p[0].line, p[0].shade, cents(p[1]), "USD"),
        ),
        "orders": TableSpec(
            (("id", "INTEGER"), ("customer_id", "INTEGER"), ("status", "TEXT"),
             ("ordered_at", "TEXT"), ("updated_at", "TEXT"), ("currency", "TEXT")),
            ("id",),
            lambda o: (o.id, o.customer_id, o.status.upper(), _order_date(o, ts),
                       ts(o.updated_at), o.currency),
        ),
        "order_items": TableSpec(
            (("order_id", "INTEGER NOT NULL"), ("line_no", "INTEGER NOT NULL"), ("sku", "TEXT"),
             ("qty", "INTEGER"), ("unit_price_cents", "INTEGER"), ("updated_at", "TEXT")),
            ("order_id", "line_no"),
            lambda i: (i.order_id, i.line_no, i.sku, i.quantity, cents(i.unit_price),
                       ts(i.updated_at)),
        ),
        "cart_events": TableSpec(
            (("id", "INTEGER"), ("customer_id", "INTEGER"), ("sku", "TEXT"), ("action", "TEXT"),
             ("at", "TEXT"), ("updated_at", "TEXT")),
            ("id",),
            lambda e: (e.id, e.customer_id, e.sku, e.action, ts(e.at), ts(e.updated_at)),
        ),
    }
# fmt: on


_ASIA_ACTION = {"add": "add_to_cart", "remove": "remove_from_cart"}


# fmt: off
def _asia() -> dict[str, TableSpec]:
    ep = epoch_seconds
    return {
        "customers": TableSpec(
            (("id", "INTEGER"), ("email", "TEXT"), ("name", "TEXT"), ("country", "TEXT"),
             ("created_at", "TEXT"), ("updated_at", "INTEGER")),
            ("id",),
            lambda c: (c.id, c.email, c.name, c.country, utc_text(c.created_at),
                       ep(c.updated_at)),
        ),
        "products": TableSpec(
            (("sku", "TEXT"), ("name", "TEXT"), ("line", "TEXT"), ("shade", "TEXT"),
             ("price", "INTEGER"), ("currency", "TEXT")),
            ("sku",),
            lambda p: (p[0].sku, p[0].name, p[0].line, p[0].shade, int(p[1]), "JPY"),
        ),
        "orders": TableSpec(
            (("id", "INTEGER"), ("customer_id", "INTEGER"), ("status", "TEXT"),
             ("ordered_at", "TEXT"), ("updated_at", "INTEGER"), ("currency", "TEXT")),
            ("id",),
            lambda o: (o.id, o.customer_id, o.status, _order_date(o, utc_text),
                       ep(o.updated_at), o.currency),
            declare_primary_key=False,
        ),
        "order_items": TableSpec(
            (("order_id", "INTEGER NOT NULL"), ("line_no", "INTEGER NOT NULL"), ("sku", "TEXT"),
             ("quantity", "INTEGER"), ("unit_price", "INTEGER"), ("updated_at", "INTEGER")),
            ("order_id", "line_no"),
            lambda i: (i.order_id, i.line_no, i.sku, i.quantity, int(i.unit_price),
                       ep(i.updated_at)),
        ),
        "cart_events": TableSpec(
            (("id", "INTEGER"), ("customer_id", "INTEGER"), ("sku", "TEXT"), ("action", "TEXT"),
             ("event_time", "INTEGER"), ("updated_at", "INTEGER")),
            ("id",),
            lambda e: (e.id, e.customer_id, e.sku, _ASIA_ACTION[e.action], ep(e.at),
                       ep(e.updated_at)),
        ),
    }
# fmt: on


SQLITE_TABLES: dict[str, dict[str, TableSpec]] = {
    "europe": _europe(),
    "north_america": _north_america(),
    "asia": _asia(),
}
"""region -> table -> layout. ``products`` rows are ``(Product, local price)`` pairs."""


def _africa_customer(c: Customer) -> Row:
    return (
        c.id,
        c.email,
        c.name,
        c.country,
        johannesburg(c.created_at),
        johannesburg(c.updated_at),
    )


def _africa_order(o: Order) -> Row:
    return (
        o.id,
        o.customer_id,
        o.status,
        _order_date(o, johannesburg),
        johannesburg(o.updated_at),
        o.currency,
    )


def _africa_item(i: OrderItem) -> Row:
    return (i.order_id, i.line_no, i.sku, i.quantity, str(i.unit_price), johannesburg(i.updated_at))


AFRICA_CSV: dict[str, tuple[tuple[str, ...], Callable[[Any], Row]]] = {
    "customers": (("id", "email", "name", "country", "created_at", "updated_at"), _africa_customer),
    "orders": (
        ("id", "customer_id", "status", "ordered_at", "updated_at", "currency"),
        _africa_order,
    ),
    "order_items": (
        ("order_id", "line_no", "sku", "quantity", "unit_price", "updated_at"),
        _africa_item,
    ),
}
"""Africa CSV file -> (header, row format)."""


def africa_cart_event(e: CartEvent) -> dict[str, object]:
    """One line of ``cart_events.jsonl``."""
    return {
        "id": e.id,
        "customer_id": e.customer_id,
        "sku": e.sku,
        "action": e.action,
        "at": epoch_ms(e.at),
        "updated_at": epoch_ms(e.updated_at),
    }


def catalog_product(p: Product) -> dict[str, object]:
    """One line of ``catalog/products.jsonl``."""
    return {
        "sku": p.sku,
        "name": p.name,
        "line": p.line,
        "shade": p.shade,
        "base_price_usd": float(p.base_price_usd),
    }
