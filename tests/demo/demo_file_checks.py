"""Independent readers of the written demo files (for the tests): SQLite dumps, drop files,
and a count of the bad records found in them."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

SQLITE_REGIONS = ("europe", "north_america", "asia")
TABLES = ("customers", "products", "orders", "order_items", "cart_events")


def sqlite_dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted."""
    con = sqlite3.connect(path)
    try:
        return {t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr) for t in TABLES}
    finally:
        con.close()


def sqlite_rows(path: Path, table: str) -> list[dict[str, Any]]:
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(f"select * from {table}")]
    finally:
        con.close()


def file_bytes(root: Path) -> dict[str, bytes]:
    """Drop and catalog files (relative path -> content)."""
    out = {}
    for sub in ("drops", "catalog"):
        for p in sorted((root / sub).rglob("*")):
            if p.is_file():
                out[str(p.relative_to(root))] = p.read_bytes()
    return out


def csv_lines(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


_ISO_OFFSET = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")


def parses(region: str, text: str) -> bool:
    """Whether an ``ordered_at`` value is a valid timestamp in the region's format."""
    try:
        if region in ("europe", "africa"):
            return bool(_ISO_OFFSET.fullmatch(text)) and datetime.fromisoformat(text) is not None
        datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
        return True
    except ValueError:
        return False


def count_bad_records(root: Path) -> dict[str, int]:
    """Count each planted kind by reading the files the way a careful analyst would."""
    catalog = {
        json.loads(line)["sku"]
        for line in (root / "catalog" / "products.jsonl").read_text().splitlines()
    }
    counts: Counter[str] = Counter()
    for region in SQLITE_REGIONS:
        db = root / "data" / f"{region}.sqlite"
        orders = sqlite_rows(db, "orders")
        counts["unparseable_date"] += sum(not parses(region, o["ordered_at"]) for o in orders)
        counts["duplicate_order_id"] += len(orders) - len({o["id"] for o in orders})
        for item in sqlite_rows(db, "order_items"):
            qty = item["qty"] if region == "north_america" else item["quantity"]
            counts["negative_quantity"] += qty < 0
            counts["unknown_sku"] += item["sku"] not in catalog
    for folder in sorted((root / "drops" / "africa").iterdir()):
        for table in ("customers", "orders", "order_items"):
            header, rows = csv_lines(folder / f"{table}.csv")
            good = [dict(zip(header, r, strict=True)) for r in rows if len(r) == len(header)]
            counts["malformed_line"] += len(rows) - len(good)
            if table == "orders":
                counts["unparseable_date"] += sum(
                    not parses("africa", o["ordered_at"]) for o in good
                )
                counts["duplicate_order_id"] += len(good) - len({o["id"] for o in good})
            elif table == "order_items":
                counts["negative_quantity"] += sum(int(i["quantity"]) < 0 for i in good)
                counts["unknown_sku"] += sum(i["sku"] not in catalog for i in good)
    return dict(counts)
