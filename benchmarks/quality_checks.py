"""Ten typical data quality checks on a 10M-row table: Headwater vs Great Expectations (and
Soda Core when it installs).

    .venv/bin/python -m benchmarks.quality_checks [--rows 10000000] [--quick] [--reps 3]
                                                  [--no-gx] [--no-soda] [--gx-pandas] [--reuse]
                                                  [--rules R,R | --without R,R]

``--quick`` is ``--rows 1000000``. ``--rules``/``--without`` keep or drop rules (names as in
:data:`CHECK_IDS`) for every tool alike, to see what one rule costs each of them. Data goes to ``benchmarks/.work/quality/`` (an orders-like
table as ``data.parquet`` and as ``raw.orders`` in ``warehouse.duckdb``, with the dimension
``raw.products``), results to ``benchmarks/.work/quality/results.json``.

Each tool runs in its own subprocess, which imports the tool, opens the data, builds the
checks and validates; the subprocess reports the time of the validation itself and the
parent measures the whole process. Great Expectations and Soda Core run in venvs of their
own (``benchmarks/.work/gx-venv``, ``benchmarks/.work/soda-venv``, made on first use); the
same file is their worker (``-m benchmarks.quality_checks --worker gx``), so nothing here
imports Headwater, Great Expectations or Soda at module level.

The same ten rules for every tool:

| # | rule | Headwater | Great Expectations 1.x | Soda Core 4 (contract) |
|---|---|---|---|---|
| 1 | customer_id not null | ``not_null`` | ``ExpectColumnValuesToNotBeNull`` | ``missing`` |
| 2 | id unique | ``unique`` | ``ExpectColumnValuesToBeUnique`` | ``duplicate`` |
| 3 | status in 5 values | ``accepted_values`` | ``ExpectColumnValuesToBeInSet`` | ``invalid`` (``valid_values``) |
| 4 | 0 <= amount <= 10000 | ``range`` | ``ExpectColumnValuesToBeBetween`` | ``invalid`` (``valid_min/max``) |
| 5 | email matches a regex | ``regex`` | SQL: ``UnexpectedRowsExpectation`` (*); pandas: ``ExpectColumnValuesToMatchRegex`` | ``invalid`` (``valid_format regex``) |
| 6 | sku exists in products | ``relationships`` | SQL: ``UnexpectedRowsExpectation`` (*); pandas: ``ExpectColumnValuesToBeInSet`` (the 5,000 skus) | ``invalid`` (``valid_reference_data``) |
| 7 | row count within +-10% | ``row_count`` | ``ExpectTableRowCountToBeBetween`` | ``row_count`` (threshold) |
| 8 | newest created_at recent | ``freshness`` | ``ExpectColumnMaxToBeBetween`` (min = now - max age) | ``freshness`` |
| 9 | discount <= amount | ``expression`` | ``ExpectColumnPairValuesAToBeGreaterThanB`` (or_equal) | ``failed_rows`` (expression) |
| 10 | (store_id, receipt_no) unique | ``unique`` (two columns) | ``ExpectCompoundColumnsToBeUnique`` | ``duplicate`` (two columns) |

(*) GX's SQL engine on DuckDB cannot run these natively (see :func:`gx_suite`). GX runs on
DuckDB through SQLAlchemy 2.0 + duckdb_engine with one patch (:func:`_gx_duckdb_shim`); its
pandas engine (``--gx-pandas``) reads ``data.parquet`` first (not counted).

NULLs are treated alike: only rule 1 fails a NULL; GX skips NULLs in its map expectations,
and rules 9 and 10 use ``ignore_row_if`` so a row with a NULL is skipped as in Headwater.
Failing counts are rows; table-level rules count 1 when violated. The violations are planted
(see :func:`generate`), so the expected counts are known for any row count.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT, WORK, fmt_seconds, log, time_subprocess

QUALITY = WORK / "quality"
GX_VENV = WORK / "gx-venv"
SODA_VENV = WORK / "soda-venv"
GX_PACKAGES = [
    "great_expectations==1.24.1",
    "duckdb==1.5.5",
    "duckdb_engine==0.17.0",
    "sqlalchemy==2.0.*",  # duckdb_engine cannot reflect columns with SQLAlchemy 2.1
    "pyarrow",
]
SODA_PACKAGES = ["soda-duckdb==4.28.0", "duckdb==1.5.5"]

STATUSES = ["placed", "shipped", "delivered", "cancelled", "returned"]
COUNTRIES = ["US", "DE", "FR", "GB", "NL", "ES", "IT", "SE", "PL", "BR"]
EMAIL_REGEX = r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$"
SKUS = 5000
ANCHOR = datetime(2025, 1, 1)  # created_at of the first row; one row every 3 seconds
CHECK_IDS = [
    "not_null",
    "unique",
    "accepted_values",
    "range",
    "regex",
    "relationships",
    "row_count",
    "freshness",
    "expression",
    "unique_compound",
]
OVERHEAD_REPS = 30  # runs of the ten checks on the 10-row table (Headwater)
GX_OVERHEAD_REPS = 5


# -- data --------------------------------------------------------------------------------------


def planted(rows: int) -> dict[str, int]:
    """The failing rows each rule must find, from the planting rules of :func:`generate`."""

    def hits(mod: int, rem: int) -> int:
        return 0 if rows <= rem else (rows - 1 - rem) // mod + 1

    return {
        "not_null": hits(100_000, 3),
        "unique": 2 * hits(500_000, 499_999),
        "accepted_values": hits(40_000, 5),
        "range": hits(25_000, 13) + hits(1_000_000, 77),
        "regex": hits(50_000, 11),
        "relationships": hits(100_000, 23),
        "row_count": 0,
        "freshness": 0,
        "expression": hits(200_000, 19) + hits(25_000, 13),
        "unique_compound": 2 * hits(333_333, 2_041),
    }


ORDERS_SQL = """
select
    (case when r % 500000 = 499999 then r else r + 1 end)::bigint as id,
    (case when r % 100000 = 3 then null else (r * 7919) % 1000000 + 1 end)::bigint as customer_id,
    case when r % 100000 = 3 then null
         when r % 50000 = 11 then 'user' || r || '.example.com'
         else 'user' || ((r * 7919) % 1000000) || '@example.com' end as email,
    case when r % 40000 = 5 then 'unknown' else {statuses}[r % 5 + 1] end as status,
    amount::decimal(12, 2) as amount,
    (case when r % 200000 = 19 then amount + 1 else round(amount * 0.1, 2) end)::decimal(12, 2)
        as discount,
    (1 + r % 20)::integer as quantity,
    case when r % 100000 = 23 then 'SKU-99999'
         else 'SKU-' || lpad((r % {skus})::varchar, 5, '0') end as sku,
    {countries}[r % 10 + 1] as country,
    (r % 1000)::integer as store_id,
    (case when r % 333333 = 2041 then r // 1000 - 1 else r // 1000 end)::bigint as receipt_no,
    timestamp '{anchor}' + to_seconds(r * 3) as created_at
from (
    select r,
        case when r % 25000 = 13 then -12.50
             when r % 1000000 = 77 then 12345.67
             else ((r * 104729) % 1000000) / 100.0 end as amount
    from range({rows}) t(r)
)
"""


def generate(rows: int, folder: Path, *, parquet: bool = True) -> dict[str, Any]:
    """An orders table of ``rows`` rows in ``folder/warehouse.duckdb`` (``raw.orders``,
    ``raw.products``) and ``folder/data.parquet`` (+ ``products.parquet``).

    Planted violations (row ``r``, 0-based): NULL customer_id (and email) when
    ``r % 100000 = 3``; ``r % 500000 = 499999`` repeats the previous id; a bad email at
    ``r % 50000 = 11``; status ``unknown`` at ``r % 40000 = 5``; amount -12.50 at
    ``r % 25000 = 13`` and 12345.67 at ``r % 1000000 = 77``; discount above amount at
    ``r % 200000 = 19`` (and where amount is negative); an unknown sku at ``r % 100000 = 23``;
    ``(store_id, receipt_no)`` repeats the row 1000 before at ``r % 333333 = 2041``.
    """
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "warehouse.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    sql = ORDERS_SQL.format(
        statuses=_list(STATUSES),
        countries=_list(COUNTRIES),
        skus=SKUS,
        anchor=ANCHOR.isoformat(sep=" "),
        rows=rows,
    )
    con.execute("create schema raw")
    con.execute(f"create table raw.orders as {sql}")
    con.execute(
        "create table raw.products as select 'SKU-' || lpad(i::varchar, 5, '0') as sku, "
        f"'product ' || i as name, round(1 + (i * 37) % 500, 2)::decimal(10, 2) as list_price "
        f"from range({SKUS}) t(i)"
    )
    if parquet:
        con.execute(f"copy raw.orders to '{folder / 'data.parquet'}' (format parquet)")
        con.execute(f"copy raw.products to '{folder / 'products.parquet'}' (format parquet)")
    newest = con.execute("select max(created_at) from raw.orders").fetchone()
    con.execute("checkpoint")
    con.close()
    assert newest is not None
    return {"rows": rows, "db": str(db), "newest": newest[0].isoformat()}


def _list(values: list[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def spec_for(meta: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """The rules' parameters, shared by every worker (one file, one source of truth)."""
    rows = meta["rows"]
    newest = datetime.fromisoformat(meta["newest"])
    # the data is deterministic, so "recent enough" is measured from its own newest row:
    # the rule passes today and would fail once the table stops growing for two more days
    max_age_days = math.ceil((now - newest).total_seconds() / 86400) + 2
    return {
        "db": meta["db"],
        "rows": rows,
        "row_count_min": rows - rows // 10,
        "row_count_max": rows + rows // 10,
        "max_age_days": max_age_days,
        "statuses": STATUSES,
        "email_regex": EMAIL_REGEX,
        "rules": list(CHECK_IDS),
    }


# -- Headwater ---------------------------------------------------------------------------------


def headwater_yaml(spec: dict[str, Any]) -> str:
    """The ten checks as a user writes them in ``models/raw/orders.yml``."""
    statuses = ", ".join(spec["statuses"])
    return f"""\
checks:
  - {{name: not_null, type: not_null, column: customer_id}}
  - {{name: unique, type: unique, column: id}}
  - {{name: accepted_values, type: accepted_values, column: status, values: [{statuses}]}}
  - {{name: range, type: range, column: amount, min: 0, max: 10000}}
  - name: regex
    type: regex
    column: email
    pattern: '{spec["email_regex"]}'
  - {{name: relationships, type: relationships, column: sku, to: raw.products, field: sku}}
  - {{name: row_count, type: row_count, min: {spec["row_count_min"]}, max: {spec["row_count_max"]}}}
  - {{name: freshness, type: freshness, column: created_at, max_age: {spec["max_age_days"]} days}}
  - {{name: expression, type: expression, sql: "discount <= amount"}}
  - {{name: unique_compound, type: unique, columns: [store_id, receipt_no]}}
"""


def worker_headwater(spec: dict[str, Any], reps: int) -> dict[str, Any]:
    """Open the warehouse, parse the checks, run them ``reps`` times (in this process)."""
    import yaml

    from headwater.engines.duckdb.engine import DuckDBEngine
    from headwater.quality.runner import run_checks
    from headwater.quality.spec import parse_checks

    text = headwater_yaml(spec)
    checks = parse_checks(
        yaml.safe_load(text)["checks"], path=Path("models/raw/orders.yml"), text=text
    )
    checks = tuple(c for c in checks if c.name in spec["rules"])
    engine = DuckDBEngine(Path(spec["db"]), read_only=True)
    cur = engine.cursor()
    runs: list[float] = []
    per_check: dict[str, list[float]] = {c.name: [] for c in checks}
    results = []
    for _ in range(reps):
        started = time.perf_counter()
        results = run_checks(cur, "raw.orders", "raw.orders", checks)
        runs.append(time.perf_counter() - started)
        for r in results:
            per_check[r.check].append(r.duration)
    engine.close()
    return {
        "engine": f"DuckDB {_version('duckdb')} (run_checks, SQL pushdown)",
        "validation_seconds": runs,
        "per_check_median": {  # the first run warms up when there are several
            k: statistics.median(v[1:] or v) for k, v in per_check.items()
        },
        "failing": {r.check: r.failing for r in results},
        "status": {r.check: r.status for r in results},
        "messages": {r.check: r.message for r in results},
    }


# -- Great Expectations ------------------------------------------------------------------------


def gx_suite(
    gx: Any, spec: dict[str, Any], skus: list[str], *, now: datetime, engine: str
) -> list[Any]:
    """The ten rules as GX 1.x expectations, in :data:`CHECK_IDS` order.

    On the SQL engine (DuckDB) two rules are custom SQL (``UnexpectedRowsExpectation``):
    GX raises "Regex is not supported for dialect duckdb" for the regex rule, and
    ``ExpectColumnValuesToBeInSet`` with the 5,000 skus sends ``sku NOT IN ($1, ..., $5000)``
    with bound parameters, which DuckDB evaluates as a chain of comparisons (51 s for 300k
    rows, about 28 minutes for 10M). On pandas both are native expectations.
    """
    e = gx.expectations
    min_newest = now - timedelta(days=spec["max_age_days"])
    if engine == "sql":
        pattern = spec["email_regex"].replace("{", "{{").replace("}", "}}")  # not placeholders
        regex = e.UnexpectedRowsExpectation(
            unexpected_rows_query="SELECT * FROM {batch} WHERE email IS NOT NULL AND NOT "
            f"regexp_matches(email, '{pattern}')"
        )
        relationships = e.UnexpectedRowsExpectation(
            unexpected_rows_query="SELECT * FROM {batch} WHERE sku IS NOT NULL AND sku NOT IN "
            "(SELECT sku FROM raw.products)"
        )
    else:
        regex = e.ExpectColumnValuesToMatchRegex(column="email", regex=spec["email_regex"])
        relationships = e.ExpectColumnValuesToBeInSet(column="sku", value_set=skus)
    return [
        e.ExpectColumnValuesToNotBeNull(column="customer_id"),
        e.ExpectColumnValuesToBeUnique(column="id"),
        e.ExpectColumnValuesToBeInSet(column="status", value_set=spec["statuses"]),
        e.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=10000),
        regex,
        relationships,
        e.ExpectTableRowCountToBeBetween(
            min_value=spec["row_count_min"], max_value=spec["row_count_max"]
        ),
        e.ExpectColumnMaxToBeBetween(column="created_at", min_value=min_newest),
        e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="amount",
            column_B="discount",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        e.ExpectCompoundColumnsToBeUnique(
            column_list=["store_id", "receipt_no"], ignore_row_if="any_value_is_missing"
        ),
    ]


def worker_gx(spec: dict[str, Any], reps: int, engine: str) -> dict[str, Any]:
    """Validate the suite with GX's SQL engine on the DuckDB file (SQLAlchemy + duckdb_engine)
    or, with ``engine="pandas"``, its pandas engine on the parquet file."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    os.environ["GX_ANALYTICS_ENABLED"] = "false"  # offline: no usage statistics
    import duckdb
    import great_expectations as gx

    now = datetime.now(UTC).replace(tzinfo=None)  # created_at is a naive UTC timestamp
    con = duckdb.connect(spec["db"], read_only=True)
    skus = [row[0] for row in con.execute("select sku from raw.products order by 1").fetchall()]
    con.close()
    context = gx.get_context(mode="ephemeral")
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # stderr noise only
    if engine == "sql":
        _gx_duckdb_shim()
        source = context.data_sources.add_sql(
            name="warehouse",
            connection_string=f"duckdb:///{spec['db']}",
            create_temp_table=False,
        )
        asset = source.add_table_asset(name="orders", table_name="orders", schema_name="raw")
        batch_definition = asset.add_batch_definition_whole_table("all")
        label = "SQL (SQLAlchemy + duckdb_engine on the DuckDB file)"
    else:
        import pandas as pd

        started = time.perf_counter()
        frame = pd.read_parquet(Path(spec["db"]).with_name("data.parquet"))
        read_seconds = time.perf_counter() - started
        source = context.data_sources.add_pandas(name="frames")
        asset = source.add_dataframe_asset(name="orders")
        batch_definition = asset.add_batch_definition_whole_dataframe("all")
        label = f"pandas {pd.__version__} (data.parquet read in {read_seconds:.1f} s, not counted)"
    suite = context.suites.add(gx.ExpectationSuite(name="orders"))
    named = zip(gx_suite(gx, spec, skus, now=now, engine=engine), CHECK_IDS, strict=True)
    kept = [(x, name) for x, name in named if name in spec["rules"]]
    expectations = [x for x, _ in kept]
    for expectation in expectations:
        suite.add_expectation(expectation)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="orders", data=batch_definition, suite=suite)
    )
    params = {"dataframe": frame} if engine == "pandas" else None
    runs: list[float] = []
    outcome: Any = None
    for _ in range(reps):
        started = time.perf_counter()
        outcome = definition.run(batch_parameters=params, result_format="BASIC")
        runs.append(time.perf_counter() - started)
    by_id = {x.id: name for x, name in kept}
    failing: dict[str, int | None] = {}
    status: dict[str, str] = {}
    messages: dict[str, str] = {}
    for res in outcome.results:
        config = res.expectation_config
        name = by_id.get(config.id, config.type)
        result = res.result or {}
        errors = _gx_errors(res.exception_info)
        if errors:
            failing[name] = None
            status[name] = "error"
            messages[name] = errors[0][:300]
            continue
        count = result.get("unexpected_count")
        if count is None and config.type == "unexpected_rows_expectation":
            count = result.get("observed_value")
        failing[name] = int(count) if count is not None else (0 if res.success else 1)
        status[name] = "pass" if res.success else "fail"
        messages[name] = json.dumps(
            {k: v for k, v in result.items() if k in ("observed_value", "unexpected_count")},
            default=str,
        )
    return {
        "engine": f"GX {gx.__version__}, {label}",
        "validation_seconds": runs,
        "failing": failing,
        "status": status,
        "messages": messages,
    }


def _gx_errors(info: Any) -> list[str]:
    """The messages of the exceptions in a result's ``exception_info`` (flat, or keyed by
    metric)."""
    if not isinstance(info, dict):
        return []
    if "raised_exception" in info:
        return [str(info.get("exception_message"))] if info["raised_exception"] else []
    return [m for v in info.values() for m in _gx_errors(v)]


def _gx_duckdb_shim() -> None:
    """Make GX's SQL engine work on DuckDB, which it does not list as a supported backend.

    GX runs each query in ``with engine.connect()`` and fetches the rows after the block; for
    DuckDB the connection's closing rollback discards the pending result, so every metric
    comes back empty ("list index out of range"). GX keeps one connection open for the
    dialects that need it (sqlite, SQL Server, ...): add DuckDB to that list.
    """
    from great_expectations.execution_engine import sqlalchemy_execution_engine as gx_sql

    class Dialect(str):  # the list holds enum members; the check reads ``.value``
        value = "duckdb"

    if "duckdb" not in gx_sql._PERSISTED_CONNECTION_DIALECTS:
        gx_sql._PERSISTED_CONNECTION_DIALECTS = (
            *gx_sql._PERSISTED_CONNECTION_DIALECTS,
            Dialect("duckdb"),
        )


# -- Soda Core ---------------------------------------------------------------------------------


def soda_contract(spec: dict[str, Any]) -> str:
    """The rules in ``spec["rules"]`` as a Soda Core 4 data contract (YAML)."""
    statuses = ", ".join(spec["statuses"])
    # rule -> (column, check); column None: a dataset-level check
    checks = {
        "unique": ("id", "- duplicate:\n    name: unique"),
        "not_null": ("customer_id", "- missing:\n    name: not_null"),
        "regex": (
            "email",
            "- invalid:\n    name: regex\n    valid_format:\n      name: email\n"
            f"      regex: '{spec['email_regex']}'",
        ),
        "accepted_values": (
            "status",
            f"- invalid:\n    name: accepted_values\n    valid_values: [{statuses}]",
        ),
        "range": ("amount", "- invalid:\n    name: range\n    valid_min: 0\n    valid_max: 10000"),
        "relationships": (
            "sku",
            "- invalid:\n    name: relationships\n    valid_reference_data:\n"
            "      dataset: warehouse/raw/products\n      column: sku",
        ),
        "row_count": (
            None,
            "- row_count:\n    name: row_count\n    threshold:\n      must_be_between:\n"
            f"        greater_than_or_equal: {spec['row_count_min']}\n"
            f"        less_than_or_equal: {spec['row_count_max']}",
        ),
        "freshness": (
            None,
            "- freshness:\n    name: freshness\n    column: created_at\n    threshold:\n"
            f"      unit: day\n      must_be_less_than_or_equal: {spec['max_age_days']}",
        ),
        "expression": (
            None,
            "- failed_rows:\n    name: expression\n    expression: discount > amount",
        ),
        "unique_compound": (
            None,
            "- duplicate:\n    name: unique_compound\n    columns: [store_id, receipt_no]",
        ),
    }
    columns = ["id", "customer_id", "email", "status", "amount", "discount", "quantity", "sku"]
    columns += ["country", "store_id", "receipt_no", "created_at"]
    kept = {rule: checks[rule] for rule in spec["rules"]}

    def block(text: str, indent: int) -> str:
        return "\n".join(" " * indent + line for line in text.splitlines())

    out = ["dataset: warehouse/raw/orders", "columns:"]
    for column in columns:
        out.append(f"  - name: {column}")
        mine = [check for col, check in kept.values() if col == column]
        if mine:
            out += ["    checks:", *(block(check, 6) for check in mine)]
    dataset = [check for col, check in kept.values() if col is None]
    if dataset:
        out += ["checks:", *(block(check, 2) for check in dataset)]
    return "\n".join(out) + "\n"


def worker_soda(spec: dict[str, Any], reps: int) -> dict[str, Any]:
    """Verify the contract with Soda Core 4 on the DuckDB file."""
    import logging

    logging.disable(logging.WARNING)
    os.environ["SODA_CORE_TELEMETRY_ENABLED"] = "false"  # offline: no traces to Soda's host
    from importlib.metadata import version

    from soda_core.contracts import verify_contract_locally

    folder = Path(spec["db"]).parent
    contract = folder / "orders.contract.yml"
    contract.write_text(soda_contract(spec))
    source = folder / "soda_datasource.yml"
    source.write_text(
        f"type: duckdb\nname: warehouse\nconnection:\n  database: {spec['db']}\n  read_only: true\n"
    )
    runs: list[float] = []
    outcome: Any = None
    for _ in range(reps):
        started = time.perf_counter()
        outcome = verify_contract_locally(
            data_source_file_path=str(source), contract_file_path=str(contract), publish=False
        )
        runs.append(time.perf_counter() - started)
    failing: dict[str, int | None] = {}
    status: dict[str, str] = {}
    messages: dict[str, str] = {}
    for result in _soda_check_results(outcome):
        name = getattr(result.check, "name", None) or str(result.check)
        value = getattr(result, "diagnostic_metric_values", None) or {}
        keys = ("invalid_count", "duplicate_count", "failed_rows_count", "missing_count")
        count = next((value[k] for k in keys if k in value), None)
        outcome_text = str(getattr(result, "outcome", "")).lower()
        passed = "passed" in outcome_text
        if name in ("row_count", "freshness"):
            count = 0 if passed else 1
        failing[name] = int(count) if count is not None else None
        status[name] = "pass" if passed else ("error" if "not_eval" in outcome_text else "fail")
        messages[name] = json.dumps(value, default=str)[:300]
    return {
        "engine": f"Soda Core {version('soda-core')} (DuckDB, SQL pushdown)",
        "validation_seconds": runs,
        "failing": failing,
        "status": status,
        "messages": messages,
    }


def _soda_check_results(outcome: Any) -> list[Any]:
    results = getattr(outcome, "contract_verification_results", None)
    if results is None:
        results = [outcome]
    return [c for r in results for c in (getattr(r, "check_results", None) or [])]


# -- driver ------------------------------------------------------------------------------------


def _version(module: str) -> str:
    try:
        return __import__(module).__version__
    except Exception:  # pragma: no cover - reporting only
        return "?"


def venv_python(venv: Path, packages: list[str], check: str) -> Path | None:
    """The interpreter of ``venv`` with ``packages`` (made on first use); None if it cannot
    install or ``check`` does not import."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", check]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    log(f"installing {' '.join(packages)} into {venv.relative_to(ROOT)}")
    try:
        if not python.exists():
            python3 = shutil.which("python3") or "python3"
            subprocess.run([python3, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *packages], check=True, timeout=1800
        )
    except (subprocess.SubprocessError, OSError) as exc:
        log(f"cannot install into {venv}: {exc}")
        return None
    return python if subprocess.run(probe, capture_output=True).returncode == 0 else None


def run_worker(
    python: Path | str, tool: str, spec: dict[str, Any], reps: int
) -> tuple[dict[str, Any] | None, float, float, str]:
    """One worker process: (its report, process wall time, process CPU time, stderr tail)."""
    QUALITY.mkdir(parents=True, exist_ok=True)
    spec_path = QUALITY / f"spec-{tool}.json"
    spec_path.write_text(json.dumps(spec))
    out = QUALITY / f"out-{tool}.json"
    argv = [str(python), "-m", "benchmarks.quality_checks", "--worker", tool]
    argv += ["--spec", str(spec_path), "--reps", str(reps)]
    timed = time_subprocess(argv, stdout_path=out, cwd=ROOT)
    if timed.returncode != 0:
        return None, timed.seconds, timed.cpu_seconds, timed.stderr[-3000:]
    report = json.loads(timed.stdout.strip().splitlines()[-1])
    return report, timed.seconds, timed.cpu_seconds, timed.stderr[-3000:]


def measure_all(
    pythons: dict[str, Path | str], spec: dict[str, Any], reps: int
) -> dict[str, dict[str, Any]]:
    """``reps`` rounds of one fresh process per tool (one validation each), the tools taking
    turns so that load from other work on the machine falls on all of them alike. A tool
    whose process took a minute or more runs once. Medians of the times."""
    runs: dict[str, list[tuple[dict[str, Any], float, float]]] = {t: [] for t in pythons}
    failed: set[str] = set()
    for i in range(reps):
        for tool, python in pythons.items():
            done = runs[tool]
            if tool in failed or (done and done[0][1] >= 60):
                continue
            report, wall, cpu, err = run_worker(python, tool, spec, 1)
            if report is None:
                log(f"{tool} failed:\n{err}")
                failed.add(tool)
                continue
            done.append((report, wall, cpu))
            log(
                f"  round {i + 1} {tool}: validation {report['validation_seconds'][0]:.2f} s, "
                f"process {wall:.2f} s (CPU {cpu:.2f} s)"
            )
    out: dict[str, dict[str, Any]] = {}
    for tool, done in runs.items():
        if tool in failed or not done:
            continue
        last = done[-1][0]
        last["validation_samples"] = [r["validation_seconds"][0] for r, _, _ in done]
        last["process_samples"] = [w for _, w, _ in done]
        last["cpu_samples"] = [c for _, _, c in done]
        last["validation"] = statistics.median(last["validation_samples"])
        last["process"] = statistics.median(last["process_samples"])
        last["cpu"] = statistics.median(last["cpu_samples"])
        last["peak_rss_mb"] = max(r.get("peak_rss_mb", 0) for r, _, _ in done)
        if "per_check_median" in last:
            last["per_check_median"] = {
                k: statistics.median(r["per_check_median"][k] for r, _, _ in done)
                for k in last["per_check_median"]
            }
        out[tool] = last
    return out


def overhead(python: Path | str, tool: str, spec: dict[str, Any], reps: int) -> dict[str, Any]:
    """The checks on a 10-row table, ``reps`` times in one process."""
    report, wall, _, err = run_worker(python, tool, spec, reps)
    if report is None:
        raise RuntimeError(f"{tool} overhead run failed:\n{err}")
    runs = report["validation_seconds"][1:] or report["validation_seconds"]  # first: warm-up
    report["suite_median"] = statistics.median(runs)
    report["per_check_ms"] = 1000 * report["suite_median"] / len(spec["rules"])
    report["process"] = wall
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="1M rows")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--no-gx", action="store_true")
    parser.add_argument("--no-soda", action="store_true")
    parser.add_argument("--gx-pandas", action="store_true", help="also GX's pandas engine")
    parser.add_argument("--reuse", action="store_true", help="keep data of the same size")
    rules = parser.add_mutually_exclusive_group()
    rules.add_argument("--rules", type=_rule_list, help="only these rules, e.g. regex,unique")
    rules.add_argument("--without", type=_rule_list, help="every rule but these")
    parser.add_argument("--worker", choices=["headwater", "gx", "gx-pandas", "soda"])
    parser.add_argument("--spec", type=Path)
    args = parser.parse_args()
    if args.worker:
        spec = json.loads(args.spec.read_text())
        if args.worker == "headwater":
            report = worker_headwater(spec, args.reps)
        elif args.worker in ("gx", "gx-pandas"):
            report = worker_gx(spec, args.reps, "pandas" if args.worker == "gx-pandas" else "sql")
        else:
            report = worker_soda(spec, args.reps)
        import resource

        report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(report, default=str))
        return
    rows = 1_000_000 if args.quick else args.rows
    if args.rules:
        chosen = [r for r in CHECK_IDS if r in args.rules]
    else:
        chosen = [r for r in CHECK_IDS if r not in (args.without or [])]
    report = benchmark(rows, args, chosen)
    label = "" if chosen == CHECK_IDS else "-" + "-".join(chosen)
    if len(chosen) > len(CHECK_IDS) // 2:
        label = label and "-without-" + "-".join(r for r in CHECK_IDS if r not in chosen)
    path = QUALITY / f"results{label}.json"
    path.write_text(json.dumps(report, indent=1, default=str))
    (QUALITY / f"report-{rows}{label}.md").write_text(report_text(report) + "\n")
    log(f"results: {path.relative_to(ROOT)}")


def _rule_list(text: str) -> list[str]:
    rules = [r.strip() for r in text.split(",") if r.strip()]
    unknown = sorted(set(rules) - set(CHECK_IDS))
    if unknown or not rules:
        raise argparse.ArgumentTypeError(
            f"unknown rule(s) {', '.join(unknown) or '(none given)'}; rules: {', '.join(CHECK_IDS)}"
        )
    return rules


def benchmark(rows: int, args: argparse.Namespace, rules: list[str]) -> dict[str, Any]:
    QUALITY.mkdir(parents=True, exist_ok=True)
    meta_path = QUALITY / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if not (args.reuse and meta.get("rows") == rows):
        log(f"generating {rows:,} rows into {QUALITY.relative_to(ROOT)}")
        started = time.perf_counter()
        meta = generate(rows, QUALITY)
        meta_path.write_text(json.dumps(meta))
        log(f"  generated in {time.perf_counter() - started:.1f} s")
    tiny_dir = QUALITY / "tiny"
    shutil.rmtree(tiny_dir, ignore_errors=True)
    tiny = generate(10, tiny_dir)
    now = datetime.now(UTC).replace(tzinfo=None)
    spec, tiny_spec = spec_for(meta, now=now), spec_for(tiny, now=now)
    spec["rules"] = tiny_spec["rules"] = rules
    expected = planted(rows)

    pythons: dict[str, Path | str] = {"headwater": sys.executable}
    if not args.no_gx:
        gx_python = venv_python(GX_VENV, GX_PACKAGES, "import great_expectations, duckdb_engine")
        if gx_python:
            pythons["gx"] = gx_python
            if args.gx_pandas:
                pythons["gx-pandas"] = gx_python
    if not args.no_soda:
        soda_python = venv_python(SODA_VENV, SODA_PACKAGES, "import soda_core, soda_duckdb")
        if soda_python:
            pythons["soda"] = soda_python

    results: dict[str, Any] = {
        "rows": rows,
        "rules": rules,
        "expected": expected,
        "tools": {},
        "overhead": {},
    }
    for tool, python in pythons.items():
        log(f"{tool}: fixed overhead on a 10-row table")
        reps = OVERHEAD_REPS if tool == "headwater" else GX_OVERHEAD_REPS
        try:
            results["overhead"][tool] = overhead(python, tool, tiny_spec, reps)
        except RuntimeError as exc:
            log(str(exc))
    log(f"{rows:,} rows: {args.reps} rounds of {', '.join(pythons)}")
    results["tools"] = measure_all(pythons, spec, args.reps)
    results["reps"] = args.reps
    print("\n" + report_text(results))
    return results


def expected_for(tool: str, check: str, planted_rows: int) -> int:
    """The count ``tool`` reports for the planted violations of ``check``: Soda's
    ``duplicate_count`` is rows minus distinct keys (one per duplicated pair), the others
    count every row of a duplicated key."""
    if tool == "soda" and check in ("unique", "unique_compound"):
        return planted_rows // 2
    return planted_rows


def report_text(results: dict[str, Any]) -> str:
    """The results as Markdown tables."""
    tools = results["tools"]
    base = tools.get("headwater")
    rows = results["rows"]
    rules = results.get("rules", CHECK_IDS)
    which = "The ten checks" if rules == CHECK_IDS else f"{len(rules)} checks ({', '.join(rules)})"
    out = [
        f"{which} on {rows:,} rows (medians of up to {results.get('reps', 3)} processes):",
        "",
    ]
    out.append(
        "| tool | engine | rows | validation s | process s | validation vs Headwater "
        "| process vs Headwater | process CPU s | peak RSS |"
    )
    out.append("|---|---|---|---|---|---|---|---|---|")
    for tool, r in tools.items():
        v_ratio = r["validation"] / base["validation"] if base else None
        p_ratio = r["process"] / base["process"] if base else None
        out.append(
            f"| {tool} | {r['engine']} | {rows:,} | {r['validation']:.2f} | {r['process']:.2f} "
            f"| {_x(v_ratio)} | {_x(p_ratio)} | {r['cpu']:.1f} "
            f"| {r.get('peak_rss_mb', 0):,.0f} MB |"
        )
    out += [
        "",
        "Samples (s): "
        + "; ".join(
            f"{t} validation {_s(r['validation_samples'])}, process {_s(r['process_samples'])}, "
            f"CPU {_s(r['cpu_samples'])}"
            for t, r in tools.items()
        ),
    ]
    out += [
        "",
        "Failing rows per check (table-level checks: 1 = violated; status in brackets):",
        "",
    ]
    names = list(tools)
    out.append("| check | planted | " + " | ".join(names) + " | all agree |")
    out.append("|---|---|" + "---|" * len(names) + "---|")
    for check in rules:
        planted_rows = results["expected"][check]
        cells, agree = [], True
        for t in names:
            count = tools[t]["failing"].get(check)
            want = expected_for(t, check, planted_rows)
            agree = agree and count == want
            mark = " †" if want != planted_rows else ""
            cells.append(_count(count, tools[t]["status"].get(check)) + mark)
        out.append(
            f"| {check} | {planted_rows:,} | {' | '.join(cells)} | {'yes' if agree else 'NO'} |"
        )
    if "soda" in names:
        out += ["", "† Soda's duplicate_count counts rows minus distinct keys (one per pair)."]
    if base:
        out += [
            "",
            "Headwater per check (s, median over its processes): "
            + ", ".join(f"{k} {v:.2f}" for k, v in base["per_check_median"].items()),
        ]
    out += ["", "Fixed overhead: the same checks on a 10-row table, in one process:", ""]
    out.append("| tool | all checks (median) | per check | process s |")
    out.append("|---|---|---|---|")
    for tool, r in results["overhead"].items():
        out.append(
            f"| {tool} | {fmt_seconds(r['suite_median'])} | {r['per_check_ms']:.1f} ms "
            f"| {r['process']:.2f} |"
        )
    hw = results["overhead"].get("headwater")
    if hw:
        per = sorted(1000 * v for v in hw["per_check_median"].values())
        out += [
            "",
            (
                f"Headwater, each check on 10 rows (median of {OVERHEAD_REPS - 1} runs after a "
                f"warm-up): median {statistics.median(per):.1f} ms, max {per[-1]:.1f} ms "
                f"({', '.join(f'{k} {1000 * v:.1f}' for k, v in hw['per_check_median'].items())})"
            ),
        ]
    gx = tools.get("gx")
    if base and gx:
        speedup = gx["validation"] / base["validation"]
        out += [
            "",
            f"Target >= 10x faster than Great Expectations (SQL engine): {speedup:.1f}x "
            f"({'met' if speedup >= 10 else 'NOT met'}).",
        ]
    if hw:
        ok = hw["per_check_ms"] < 100
        out.append(
            f"Target fixed overhead per check run < 100 ms: {hw['per_check_ms']:.1f} ms per "
            f"check, {1000 * hw['suite_median']:.1f} ms for all {len(rules)} ({'met' if ok else 'NOT met'})."
        )
    return "\n".join(out)


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def _s(values: list[float]) -> str:
    return "/".join(f"{v:.2f}" for v in values)


def _count(count: int | None, status: str | None) -> str:
    return "error" if count is None else f"{count:,} ({status})"


if __name__ == "__main__":
    main()
