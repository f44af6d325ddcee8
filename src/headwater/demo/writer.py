"""Write a generated :class:`~headwater.demo.dataset.Dataset` as the store's live systems.

Layout under ``out_dir`` (the demo project folder)::

    data/europe.sqlite  data/north_america.sqlite  data/asia.sqlite
    drops/africa/day=YYYY-MM-DD/{customers.csv, orders.csv, order_items.csv, cart_events.jsonl}
    catalog/products.jsonl  catalog/rates.csv
    .generator.json         {"seed": 7, "scale": 1.0, "batches": 2}

Batches are applied one after the other, like a live system: batch n inserts its new rows in
the SQLite files, updates the rows it changed (in place, newer ``updated_at``) and adds its
Africa drop folder. A folder that already holds batches 1..m of the same seed and scale only
gets batches m+1..n; anything else is rewritten from scratch.
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from headwater.demo.dataset import FIRST_DROP_DAY, Batch, Dataset, drop_day
from headwater.demo.formats import (
    AFRICA_CSV,
    SQLITE_REGIONS,
    SQLITE_TABLES,
    africa_cart_event,
    catalog_product,
)
from headwater.demo.generator import build_dataset

__all__ = [
    "META_FILE",
    "GeneratorState",
    "append_batch",
    "clear_folder",
    "insert_rows",
    "read_state",
    "write_catalog",
    "write_dataset",
    "write_state",
]

META_FILE = ".generator.json"
_TABLES = ("customers", "products", "orders", "order_items", "cart_events")


@dataclass(frozen=True)
class GeneratorState:
    """What ``.generator.json`` records about a written folder."""

    seed: int
    scale: float
    batches: int


def read_state(out_dir: Path) -> GeneratorState | None:
    """The generator state of a folder, or None if it holds no generated data."""
    try:
        meta = json.loads((Path(out_dir) / META_FILE).read_text(encoding="utf-8"))
        return GeneratorState(int(meta["seed"]), float(meta["scale"]), int(meta["batches"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_dataset(ds: Dataset, out_dir: Path) -> None:
    """Write ``ds`` under ``out_dir`` (see the module doc), bringing an existing folder of
    the same seed and scale up to date by applying only its missing batches."""
    out_dir = Path(out_dir)
    state = read_state(out_dir)
    done = 0
    if (
        state is not None
        and state.seed == ds.seed
        and state.scale == ds.scale
        and state.batches <= len(ds.batches)
    ):
        done = state.batches
    else:
        clear_folder(out_dir)
    for batch in ds.batches[done:]:
        _apply(ds, batch, out_dir)
        write_catalog(ds, batch.end, out_dir)
        write_state(out_dir, GeneratorState(ds.seed, ds.scale, batch.number))


def append_batch(out_dir: Path, scale: float | None = None, seed: int | None = None) -> Dataset:
    """Write the next batch into ``out_dir`` (batch 1 if it holds none) and return the whole
    dataset. ``scale`` and ``seed`` default to the folder's; they must match it if given."""
    out_dir = Path(out_dir)
    state = read_state(out_dir)
    if state is None:
        ds = build_dataset(1.0 if scale is None else scale, 7 if seed is None else seed, 1)
    else:
        if (scale is not None and scale != state.scale) or (
            seed is not None and seed != state.seed
        ):
            raise ValueError(
                f"{out_dir} holds data of seed {state.seed} and scale {state.scale}; "
                f"cannot append a batch of seed {seed} and scale {scale}"
            )
        ds = build_dataset(state.scale, state.seed, state.batches + 1)
    write_dataset(ds, out_dir)
    return ds


def write_state(out_dir: Path, state: GeneratorState) -> None:
    """Record in ``.generator.json`` what the folder holds."""
    meta = {"generator": "headwater-demo", "seed": state.seed, "scale": state.scale}
    meta["batches"] = state.batches
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def clear_folder(out_dir: Path) -> None:
    """Remove what a previous generation wrote (and nothing else)."""
    for region in SQLITE_REGIONS:
        for suffix in ("", "-journal", "-wal", "-shm"):
            (out_dir / "data" / f"{region}.sqlite{suffix}").unlink(missing_ok=True)
    shutil.rmtree(out_dir / "drops" / "africa", ignore_errors=True)
    for name in ("products.jsonl", "rates.csv"):
        (out_dir / "catalog" / name).unlink(missing_ok=True)
    (out_dir / META_FILE).unlink(missing_ok=True)


def _apply(ds: Dataset, batch: Batch, out_dir: Path) -> None:
    for region in SQLITE_REGIONS:
        _apply_sqlite(ds, batch, region, out_dir / "data" / f"{region}.sqlite")
    _write_drops(batch, out_dir / "drops" / "africa")


def _mine(rows: list[Any], region: str) -> list[Any]:
    return [r for r in rows if r.region == region]


def _apply_sqlite(ds: Dataset, batch: Batch, region: str, path: Path) -> None:
    specs = SQLITE_TABLES[region]
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    try:
        if batch.number == 1:
            for table in _TABLES:
                con.execute(specs[table].ddl(table))
            products = [(p, ds.regional_prices[(region, p.sku)]) for p in ds.products]
            insert_rows(
                con, "products", specs["products"].names, map(specs["products"].row, products)
            )
        for table in ("customers", "orders", "order_items", "cart_events"):
            spec = specs[table]
            insert_rows(
                con, table, spec.names, map(spec.row, _mine(batch.inserted.get(table, []), region))
            )
        dups = {oid for r, oid in batch.duplicates if r == region}
        if dups:  # the same order sent twice (the table has no primary key)
            rows = [o for o in _mine(batch.inserted["orders"], region) if o.id in dups]
            insert_rows(con, "orders", specs["orders"].names, map(specs["orders"].row, rows))
        for table in ("customers", "orders"):
            spec = specs[table]
            updates = [spec.row(r) for r in _mine(batch.updated.get(table, []), region)]
            if updates:
                names = spec.names
                keys = [names.index(k) for k in spec.key]
                assign = ", ".join(f"{n} = ?" for n in names)
                where = " AND ".join(f"{k} = ?" for k in spec.key)
                con.executemany(
                    f"UPDATE {table} SET {assign} WHERE {where}",
                    [(*row, *(row[i] for i in keys)) for row in updates],
                )
        if batch.number == 1:  # the cursor columns are indexed, as in a real system
            for table in ("customers", "orders", "order_items", "cart_events"):
                con.execute(
                    f"CREATE INDEX IF NOT EXISTS {table}_updated_at ON {table} (updated_at)"
                )
        con.commit()
    finally:
        con.close()


def insert_rows(con: sqlite3.Connection, table: str, names: tuple[str, ...], rows: Any) -> None:
    """Insert ``rows`` (tuples in the order of ``names``) into ``table``."""
    marks = ", ".join("?" for _ in names)
    con.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", rows)


def _write_drops(batch: Batch, root: Path) -> None:
    """Batch 1 writes the folders FIRST_DROP_DAY .. its last day (the first one holds all
    the older history); every later batch writes the folder of its own day."""
    first = FIRST_DROP_DAY if batch.number == 1 else batch.drop_day
    days = [first + timedelta(days=i) for i in range((batch.drop_day - first).days + 1)]
    files: dict[tuple[date, str], list[Any]] = defaultdict(list)
    for table in ("customers", "orders", "order_items", "cart_events"):
        rows = batch.inserted.get(table, []) + batch.updated.get(table, [])
        for row in _mine(rows, "africa"):
            files[(drop_day(batch.number, row.updated_at), table)].append(row)
    dups = {oid for r, oid in batch.duplicates if r == "africa"}
    for day in days:
        folder = root / f"day={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        for table, (header, fmt) in AFRICA_CSV.items():
            rows = files.get((day, table), [])
            lines = [fmt(r) for r in rows]
            if table == "orders":  # re-sent lines: exact duplicates at the end of the file
                lines += [fmt(r) for r in rows if r.id in dups]
            bad = [m for m in batch.malformed if m.table == table and m.day == day]
            _write_csv(folder / f"{table}.csv", header, lines, bad)
        with (folder / "cart_events.jsonl").open("w", encoding="utf-8", newline="\n") as f:
            for e in files.get((day, "cart_events"), []):
                f.write(json.dumps(africa_cart_event(e), separators=(",", ":")) + "\n")


def _write_csv(path: Path, header: tuple[str, ...], rows: list[Any], bad: list[Any]) -> None:
    inserts: dict[int, list[str]] = defaultdict(list)
    for m in bad:  # malformed lines, inserted raw after some data row
        inserts[min(m.after_row, len(rows))].append(m.text)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for i in range(len(rows) + 1):
            for text in inserts.get(i, []):
                f.write(text + "\n")
            if i < len(rows):
                writer.writerow(rows[i])


def write_catalog(ds: Dataset, end: datetime, out_dir: Path) -> None:
    """``products.jsonl`` and ``rates.csv`` (every day up to the batch's last day)."""
    folder = out_dir / "catalog"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "products.jsonl").open("w", encoding="utf-8", newline="\n") as f:
        for p in ds.products:
            f.write(json.dumps(catalog_product(p), separators=(",", ":")) + "\n")
    last = (end - timedelta(days=1)).date()
    with (folder / "rates.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("day", "currency", "usd_per_unit"))
        for (day, currency), rate in sorted(ds.rates.items()):
            if day <= last:
                writer.writerow((day.isoformat(), currency, f"{rate:.8f}"))
