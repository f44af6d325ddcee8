"""A stand-in for Headwater's raw loaders, written from docs/project-format.md only.

It reads the demo's ``headwater.toml`` and loads every source into ``raw.<asset>`` of a
DuckDB connection the way the format document describes: SQLite columns mapped by declared
type, CSV files all VARCHAR with bad lines rejected, JSON lines with JSON types, the
``_hw_load_id`` / ``_hw_loaded_at`` (/ ``_hw_file``) columns, incremental extraction on the
cursor and merge on the primary key. Rows duplicated inside one extraction are kept (the
worst case a loader may produce); staging must deduplicate them.
"""

from __future__ import annotations

import re
import sqlite3
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

STAGING_ORDER = (
    "stg_rates",
    "stg_products",
    "stg_product_prices",
    "stg_customers",
    "stg_orders",
    "stg_order_items",
    "stg_cart_events",
)
MARTS_ORDER = (
    "dim_region",
    "dim_date",
    "dim_product",
    "dim_customer",
    "fct_sales",
    "fct_cart_events",
    "customer_features",
)


def arrow_type(declared: str) -> pa.DataType:
    """The format doc's SQLite type mapping."""
    decl = declared.strip().upper()
    m = re.fullmatch(r"(NUMERIC|DECIMAL)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", decl)
    if m:
        return pa.decimal128(int(m.group(2)), int(m.group(3)))
    if decl.startswith("INT"):
        return pa.int64()
    if decl in ("REAL", "FLOAT", "DOUBLE"):
        return pa.float64()
    if decl == "BOOLEAN":
        return pa.bool_()
    return pa.string()


def _convert(value: Any, typ: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_decimal(typ):
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-typ.scale))
    if pa.types.is_string(typ):
        return str(value)
    return value


@dataclass
class RawLayer:
    """Loads the sources of one project into ``raw`` of ``con``; call :meth:`load` per run."""

    con: duckdb.DuckDBPyConnection
    project: Path
    loads: int = 0
    loaded_files: dict[str, set[str]] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)  # source -> rejected CSV lines

    def __post_init__(self) -> None:
        self.config = tomllib.loads((self.project / "headwater.toml").read_text())
        self.con.execute("create schema if not exists raw")

    # ------------------------------------------------------------------ one run
    def load(self) -> dict[str, int]:
        """Load every source once; returns the number of rows extracted per asset."""
        self.loads += 1
        self.loaded_at = datetime(2026, 11, 20, 6, tzinfo=UTC) + timedelta(hours=self.loads)
        # microseconds since 1970 at the load's start, as the format document says
        self.load_id = int(self.loaded_at.timestamp()) * 1_000_000
        counts: dict[str, int] = {}
        for name, src in self.config["sources"].items():
            if "connection" in src:
                url = self.config["connections"][src["connection"]]["url"]
                path = self.project / url.removeprefix("sqlite:///")
                for table in src["tables"]:
                    opts = {**src, **src.get("table_options", {}).get(table, {})}
                    asset = f"{name}_{table}"
                    counts[asset] = self._load_sqlite(path, table, asset, opts)
            else:
                counts[name] = self._load_files(name, src)
        return counts

    def _merge(self, asset: str, rel: duckdb.DuckDBPyRelation, opts: dict[str, Any]) -> None:
        con, target = self.con, f"raw.{asset}"
        rel.create_view("_hw_new", replace=True)
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'raw' and table_name = ?",
            [asset],
        ).fetchone()
        if not exists or not exists[0] or opts.get("write", "append") == "replace":
            con.execute(f"create or replace table {target} as select * from _hw_new")
        elif opts.get("write") == "merge":
            key = ", ".join(opts["primary_key"])
            con.execute(f"delete from {target} where ({key}) in (select ({key}) from _hw_new)")
            con.execute(f"insert into {target} by name select * from _hw_new")
        else:
            con.execute(f"insert into {target} by name select * from _hw_new")
        con.execute("drop view _hw_new")

    def _load_sqlite(self, path: Path, table: str, asset: str, opts: dict[str, Any]) -> int:
        src = sqlite3.connect(path)
        try:
            info = src.execute(f"pragma table_info({table})").fetchall()
            columns = [(row[1], arrow_type(row[2])) for row in info]
            names = ", ".join(name for name, _ in columns)
            cursor = opts.get("cursor") or ""
            last = None
            if cursor and self._exists(asset):
                last = self.con.execute(f"select max({cursor}) from raw.{asset}").fetchone()
            if last is not None and last[0] is not None:
                rows = src.execute(
                    f"select {names} from {table} where {cursor} > ?", [last[0]]
                ).fetchall()
            else:
                rows = src.execute(f"select {names} from {table}").fetchall()
        finally:
            src.close()
        arrays = {
            name: pa.array([_convert(r[i], typ) for r in rows], type=typ)
            for i, (name, typ) in enumerate(columns)
        }
        arrays["_hw_load_id"] = pa.array([self.load_id] * len(rows), pa.int64())
        arrays["_hw_loaded_at"] = pa.array([self.loaded_at] * len(rows), pa.timestamp("us", "UTC"))
        arrow = pa.table(arrays)
        if rows or not self._exists(asset):
            self._merge(asset, self.con.from_arrow(arrow), opts)
        return len(rows)

    def _exists(self, asset: str) -> bool:
        row = self.con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'raw' and table_name = ?",
            [asset],
        ).fetchone()
        return bool(row and row[0])

    def _load_files(self, name: str, src: dict[str, Any]) -> int:
        paths = sorted(self.project.glob(src["files"]))
        incremental = src.get("write") != "replace"
        seen = self.loaded_files.setdefault(name, set())
        new = [p for p in paths if not (incremental and str(p) in seen)]
        if not new:
            return 0
        seen.update(str(p) for p in new)
        files = [str(p) for p in new]
        prefix = str(self.project) + "/"
        if src["format"] == "csv":
            self.con.execute("drop table if exists reject_errors")
            self.con.execute("drop table if exists reject_scans")
            reader = (
                "read_csv($files, header = true, delim = ',', quote = '\"', escape = '\"', "
                "all_varchar = true, store_rejects = true, filename = true, "
                "hive_partitioning = false)"
            )
        else:
            reader = (
                "read_json($files, format = 'newline_delimited', filename = true, "
                "hive_partitioning = false)"
            )
        data = self.con.execute(
            "select * exclude (filename), replace(filename, $prefix, '') as _hw_file "
            f"from {reader}",
            {"files": files, "prefix": prefix},
        ).to_arrow_table()
        if src["format"] == "csv":
            bad = self.con.execute(
                "select count(distinct (file_id, line)) from reject_errors"
            ).fetchone()
            self.rejected[name] = self.rejected.get(name, 0) + (bad[0] if bad else 0)
        rel = self.con.from_arrow(data).project(
            f"*, cast({self.load_id} as bigint) as _hw_load_id, "
            f"timestamptz '{self.loaded_at.isoformat()}' as _hw_loaded_at"
        )
        self._merge(name, rel, src)
        return data.num_rows


def run_models(con: duckdb.DuckDBPyConnection, models_dir: Path) -> None:
    """Build every staging and mart model, in dependency order, as the header says."""
    for layer, order in (("staging", STAGING_ORDER), ("marts", MARTS_ORDER)):
        con.execute(f"create schema if not exists {layer}")
        for name in order:
            sql = (models_dir / layer / f"{name}.sql").read_text()
            kind = "table" if re.search(r"^--\s+materialized:\s*table\b", sql, re.M) else "view"
            con.execute(f"create or replace {kind} {layer}.{name} as\n{sql}")
