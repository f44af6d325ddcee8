"""Write batch 1 of the store while generating it: memory stays flat as the scale grows.

:func:`write_streamed` writes the same folder as ``write_dataset(build_dataset(scale, seed,
1), out_dir)`` (the same rows in the same order in every SQLite table, the same bytes in
every drop and catalog file) and returns the same ground truth as
:func:`~headwater.demo.truth.answers`, but keeps no rows: each row goes to its SQLite table
(in blocks of :data:`BLOCK` rows) or drop file as the generator makes it, and into a
:class:`~headwater.demo.truth.Tally`. The planted bad records, picked once a region's orders
are all made, are applied to the rows already written: an ``UPDATE`` of the SQLite row, a
rewrite (line by line) of the Africa CSV file that holds it, where the malformed lines and
the re-sent duplicate orders are also added. Appended batches update earlier rows and still
go through :func:`~headwater.demo.generator.build_dataset`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from headwater.demo.catalog import build_products, build_rates, regional_prices
from headwater.demo.compact import OrderLog
from headwater.demo.dataset import (
    FIRST_DROP_DAY,
    REGIONS,
    Batch,
    Dataset,
    Order,
    OrderItem,
    batch_window,
    drop_day,
)
from headwater.demo.formats import AFRICA_CSV, SQLITE_TABLES, africa_cart_event
from headwater.demo.generator import generate_region
from headwater.demo.planting import PlantTarget
from headwater.demo.truth import Answers, Tally
from headwater.demo.writer import (
    GeneratorState,
    clear_folder,
    insert_rows,
    write_catalog,
    write_state,
)

__all__ = ["BLOCK", "write_streamed"]

BLOCK = 5_000
"""Rows buffered per SQLite table before they are inserted."""
_TABLES = ("customers", "products", "orders", "order_items", "cart_events")


def write_streamed(out_dir: Path, scale: float = 1.0, seed: int = 7) -> Answers:
    """Write batch 1 of the store (``seed``, ``scale``) under ``out_dir``, replacing what a
    previous generation wrote, and return its ground truth (see the module doc)."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    out_dir = Path(out_dir)
    products = build_products()
    ds = Dataset(seed=seed, scale=scale, products=products, regional_prices={}, rates={})
    ds.regional_prices = regional_prices(products)
    batch = Batch(1, *batch_window(1))
    clear_folder(out_dir)
    tally = Tally(products)
    for region in REGIONS:
        sink: _Sink
        if region == "africa":
            sink = _AfricaSink(ds, batch, tally, out_dir / "drops" / "africa")
        else:
            sink = _SqliteSink(ds, batch, tally, region, out_dir / "data" / f"{region}.sqlite")
        with _finished(sink):
            generate_region(ds, batch, region, sink)
    ds.batches.append(batch)
    ds.rates = build_rates(seed, (ds.end - timedelta(days=1)).date())
    write_catalog(ds, batch.end, out_dir)
    write_state(out_dir, GeneratorState(seed, scale, 1))
    return tally.answers()


@contextmanager
def _finished(sink: _Sink) -> Iterator[None]:
    try:
        yield
        sink.finish()
    finally:
        sink.close()


class _Sink:
    """One region's rows: counted in the tally (an item once its order is known: the
    generator sends an order after its items), written by the subclass."""

    def __init__(self, ds: Dataset, batch: Batch, tally: Tally) -> None:
        self.ds, self.batch, self.tally = ds, batch, tally
        self.pending: list[OrderItem] = []
        self.log: OrderLog | None = None

    def row(self, region: str, table: str, row: Any) -> None:
        if table == "order_items":
            self.pending.append(row)
        elif table == "orders":
            for item in self.pending:
                self.tally.item(item, row)
            self.pending.clear()
        elif table == "cart_events":
            self.tally.cart_event(row)
        self.write(table, row)

    def planting(self, region: str, log: OrderLog) -> PlantTarget:
        self.log = log
        return self

    def line_one(self, order: Order) -> OrderItem:
        assert self.log is not None
        return self.log.items(order.id - self.log.first_id, self.ds.regional_prices)[0]

    def replace(self, old: Order | OrderItem, new: Order | OrderItem) -> None:
        """A planted change: recount the rows it touches, then rewrite the row."""
        log = self.log
        assert log is not None
        if isinstance(old, Order) and isinstance(new, Order):
            for item in log.items(old.id - log.first_id, self.ds.regional_prices):
                self.tally.item(item, old, -1)
                self.tally.item(item, new)
        elif isinstance(old, OrderItem) and isinstance(new, OrderItem):
            order = log.order(old.order_id - log.first_id)
            self.tally.item(old, order, -1)
            self.tally.item(new, order)
        self.patch(new)

    def duplicates(self, region: str) -> list[Order]:
        """The region's re-sent orders, by id (as generated: they are never otherwise planted)."""
        assert self.log is not None
        ids = sorted(oid for r, oid in self.batch.duplicates if r == region)
        return [self.log.order(oid - self.log.first_id) for oid in ids]

    def write(self, table: str, row: Any) -> None:
        raise NotImplementedError

    def patch(self, new: Order | OrderItem) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _SqliteSink(_Sink):
    """A region's SQLite file, written as :func:`~headwater.demo.writer.write_dataset`
    writes batch 1: tables and products first, rows, duplicates, then the indexes."""

    def __init__(self, ds: Dataset, batch: Batch, tally: Tally, region: str, path: Path) -> None:
        super().__init__(ds, batch, tally)
        self.region, self.specs = region, SQLITE_TABLES[region]
        path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(path)
        for table in _TABLES:
            self.con.execute(self.specs[table].ddl(table))
        spec = self.specs["products"]
        products = [(p, ds.regional_prices[(region, p.sku)]) for p in ds.products]
        insert_rows(self.con, "products", spec.names, map(spec.row, products))
        self.buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in _TABLES}

    def write(self, table: str, row: Any) -> None:
        buffer = self.buffers[table]
        buffer.append(self.specs[table].row(row))
        if len(buffer) >= BLOCK:
            self._flush(table)

    def _flush(self, table: str) -> None:
        insert_rows(self.con, table, self.specs[table].names, self.buffers[table])
        self.buffers[table].clear()

    def patch(self, new: Order | OrderItem) -> None:
        table = "orders" if isinstance(new, Order) else "order_items"
        self._flush(table)
        spec = self.specs[table]
        row = spec.row(new)
        keys = [row[spec.names.index(k)] for k in spec.key]
        assign = ", ".join(f"{n} = ?" for n in spec.names)
        where = " AND ".join(f"{k} = ?" for k in spec.key)
        self.con.execute(f"UPDATE {table} SET {assign} WHERE {where}", (*row, *keys))

    def finish(self) -> None:
        for table in _TABLES:
            self._flush(table)
        spec = self.specs["orders"]  # the same order sent twice (the table has no primary key)
        insert_rows(self.con, "orders", spec.names, map(spec.row, self.duplicates(self.region)))
        for table in ("customers", "orders", "order_items", "cart_events"):
            self.con.execute(
                f"CREATE INDEX IF NOT EXISTS {table}_updated_at ON {table} (updated_at)"
            )
        self.con.commit()

    def close(self) -> None:
        self.con.close()


class _AfricaSink(_Sink):
    """Africa's drop folders: each row goes to the file of its day as it comes; the files
    with planted changes, malformed lines or duplicates are then rewritten line by line."""

    def __init__(self, ds: Dataset, batch: Batch, tally: Tally, root: Path) -> None:
        super().__init__(ds, batch, tally)
        self.root = root
        n_days = (batch.drop_day - FIRST_DROP_DAY).days + 1
        self.days = [FIRST_DROP_DAY + timedelta(days=i) for i in range(n_days)]
        self.files: dict[tuple[str, str], IO[str]] = {}
        self.writers: dict[tuple[str, str], Any] = {}
        for day in self.days:
            folder = root / f"day={day.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            for table, (header, _) in AFRICA_CSV.items():
                f = (folder / f"{table}.csv").open("w", encoding="utf-8", newline="")
                self.files[(day.isoformat(), table)] = f
                self.writers[(day.isoformat(), table)] = csv.writer(f, lineterminator="\n")
                self.writers[(day.isoformat(), table)].writerow(header)
            jsonl = (folder / "cart_events.jsonl").open("w", encoding="utf-8", newline="\n")
            self.files[(day.isoformat(), "cart_events")] = jsonl
        self.patches: dict[tuple[str, tuple[str, ...]], Order | OrderItem] = {}

    def write(self, table: str, row: Any) -> None:
        day = drop_day(1, row.updated_at).isoformat()
        if table == "cart_events":
            event = json.dumps(africa_cart_event(row), separators=(",", ":"))
            self.files[(day, table)].write(event + "\n")
        else:
            self.writers[(day, table)].writerow(AFRICA_CSV[table][1](row))

    def patch(self, new: Order | OrderItem) -> None:
        if isinstance(new, Order):
            self.patches[("orders", (str(new.id),))] = new
        else:
            self.patches[("order_items", (str(new.order_id), str(new.line_no)))] = new

    def finish(self) -> None:
        self.close()
        dups = {str(o.id) for o in self.duplicates("africa")}
        for day in self.days:
            folder = self.root / f"day={day.isoformat()}"
            for table in AFRICA_CSV:
                bad = [
                    (m.after_row, m.text)
                    for m in self.batch.malformed
                    if m.table == table and m.day == day
                ]
                patches = {k: v for (t, k), v in self.patches.items() if t == table}
                if bad or patches or (table == "orders" and dups):
                    _rewrite(folder / f"{table}.csv", table, patches, bad, dups)

    def close(self) -> None:
        for f in self.files.values():
            f.close()


def _rewrite(
    path: Path,
    table: str,
    patches: dict[tuple[str, ...], Order | OrderItem],
    bad: list[tuple[int, str]],
    dups: set[str],
) -> None:
    """Rewrite one drop CSV file as :func:`~headwater.demo.writer.write_dataset` would have
    written it: patched rows replaced, the orders in ``dups`` sent again at the end, the
    malformed lines ``bad`` (after row, text) inserted (among the data and re-sent lines)."""
    width = 2 if table == "order_items" else 1
    fmt = AFRICA_CSV[table][1]
    tmp = path.with_name(path.name + ".tmp")
    index, resent = 0, []
    with (
        path.open(encoding="utf-8", newline="") as src,
        tmp.open("w", encoding="utf-8", newline="") as out,
    ):
        out.write(src.readline())  # the header

        def put(line: str) -> None:
            nonlocal index
            for after, text in bad:
                if after == index:
                    out.write(text + "\n")
            out.write(line)
            index += 1

        for line in src:
            key = tuple(line.split(",", width)[:width])
            if key in patches:
                buffer = io.StringIO()
                csv.writer(buffer, lineterminator="\n").writerow(fmt(patches[key]))
                line = buffer.getvalue()
            if table == "orders" and key[0] in dups:
                resent.append(line)
            put(line)
        for line in resent:
            put(line)
        for after, text in bad:  # past the last row: at the end, in their order
            if after >= index:
                out.write(text + "\n")
    os.replace(tmp, path)
