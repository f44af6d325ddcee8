"""The product catalog, the regional list prices and the daily currency rates."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from headwater.demo.dataset import CURRENCY, FOUNDATION_NAME, HISTORY_START, REGIONS, Product

__all__ = [
    "FOUNDATION_SHADE_WEIGHTS",
    "OTHER_PRODUCT_WEIGHTS",
    "UNKNOWN_SKUS",
    "build_products",
    "build_rates",
    "local_price",
    "quantize",
    "regional_prices",
]

# PRO FILT'R shades and how popular each is (the focus shades are among the popular ones).
FOUNDATION_SHADE_WEIGHTS: dict[str, int] = {
    "#100": 4,
    "#110": 9,
    "#120": 5,
    "#150": 11,
    "#160": 8,
    "#185": 5,
    "#200": 7,
    "#230": 5,
    "#255": 10,
    "#300": 6,
    "#330": 4,
    "#385": 4,
    "#420": 3,
    "#450": 3,
    "#490": 6,
    "#498": 2,
}

# (name, line, sku prefix, shades, base price USD, popularity per shade)
_OTHER_LINES: tuple[tuple[str, str, str, tuple[str | None, ...], str, int], ...] = (
    (
        "Soft Matte Longwear Foundation",
        "foundation",
        "SML",
        ("#110", "#150", "#160", "#255", "#490"),
        "36.00",
        6,
    ),
    ("Velvet Matte Lipstick", "lipstick", "VML", ("Rouge", "Nude", "Berry", "Coral"), "21.00", 9),
    ("Full Volume Mascara", "mascara", "FVM", ("Black", "Brown"), "25.00", 12),
    ("Glow Highlighter", "highlighter", "GLH", ("Gold", "Champagne", "Rose"), "38.00", 7),
    ("Hydra Grip Primer", "primer", "HGP", (None,), "32.00", 14),
    ("Invisimatte Setting Powder", "powder", "ISP", ("Translucent", "Banana"), "34.00", 8),
)

OTHER_PRODUCT_WEIGHTS: dict[str, int] = {}
for _name, _line, _prefix, _shades, _price, _weight in _OTHER_LINES:
    for _shade in _shades:
        _sku = f"{_prefix}-{(_shade or 'STD').lstrip('#').upper()}"
        OTHER_PRODUCT_WEIGHTS[_sku] = _weight

UNKNOWN_SKUS: tuple[str, ...] = ("PFH-999", "XX-0000", "VML-GOLDX", "SML-111", "PFH-105")
"""SKUs that do not exist in the catalog (planted ``unknown_sku`` items use them)."""

_RATE_REF: dict[str, Decimal] = {
    "EUR": Decimal("1.08"),
    "USD": Decimal("1"),
    "JPY": Decimal("0.0067"),
    "ZAR": Decimal("0.054"),
}
_PRICE_STEP: dict[str, Decimal] = {
    "EUR": Decimal("0.01"),
    "USD": Decimal("0.01"),
    "JPY": Decimal("1"),
    "ZAR": Decimal("0.01"),
}


def foundation_sku(shade: str) -> str:
    return f"PFH-{shade.lstrip('#')}"


def build_products() -> list[Product]:
    """The catalog: PRO FILT'R foundation in 16 shades plus a few other lines."""
    products = [
        Product(foundation_sku(shade), FOUNDATION_NAME, "foundation", shade, Decimal("39.00"))
        for shade in FOUNDATION_SHADE_WEIGHTS
    ]
    for name, line, prefix, shades, price, _weight in _OTHER_LINES:
        for shade in shades:
            sku = f"{prefix}-{(shade or 'STD').lstrip('#').upper()}"
            products.append(Product(sku, name, line, shade, Decimal(price)))
    return products


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round an amount to the currency's minor unit (yen have none)."""
    return amount.quantize(_PRICE_STEP[currency], rounding=ROUND_HALF_UP)


def local_price(base_usd: Decimal, currency: str) -> Decimal:
    """A psychological list price in the local currency for a USD base price."""
    raw = base_usd / _RATE_REF[currency]
    if currency == "JPY":
        return (raw / 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP) * 100
    if currency == "USD":
        return quantize(raw, currency)
    return raw.quantize(Decimal("1"), rounding=ROUND_HALF_UP) - Decimal("0.10")


def regional_prices(products: list[Product]) -> dict[tuple[str, str], Decimal]:
    """(region, sku) -> list price in the region's currency."""
    return {
        (region, p.sku): local_price(p.base_price_usd, CURRENCY[region])
        for region in REGIONS
        for p in products
    }


def build_rates(seed: int, last_day: date) -> dict[tuple[date, str], Decimal]:
    """Daily USD-per-unit rates of every currency, from HISTORY_START to ``last_day``: a
    seeded random walk (the value of a day never depends on how far the range goes)."""
    rng = random.Random(f"headwater-demo:{seed}:rates")
    rates: dict[tuple[date, str], Decimal] = {}
    level = {cur: float(ref) for cur, ref in _RATE_REF.items()}
    day = HISTORY_START.date()
    while day <= last_day:
        for cur in sorted(level):
            if cur != "USD":
                level[cur] *= 1 + rng.gauss(0, 0.004)
            rates[(day, cur)] = Decimal(f"{level[cur]:.8f}")
        day += timedelta(days=1)
    return rates
