"""Golden cases: one YAML file per construct the docs allow (``cases/*.yml``), each with
its setup rows, a query in the project's dialect (DuckDB's) and DuckDB's answer. The
runner is engine-neutral: it writes the setup tables and runs the query through the
:class:`~headwater.engines.Engine` protocol only, rendering the query for the engine's
dialect (``headwater.engines.dialects``), so a new engine runs every case unchanged.

A case file::

    construct: QUALIFY with *        # a name of headwater.engines.constructs, or "" (none)
    doc: why the case exists (what engines answer differently)
    tables:
      t: {columns: {id: int64, d: date}, rows: [[1, 2024-01-07]]}
    query: select * from golden.t qualify ...   # tables live in the schema "golden"
    expected: {columns: [id, d], rows: [[1, 2024-01-07]]}

Rows are compared in order (queries say ORDER BY), values after :func:`normalize`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from headwater.engines.base import Engine
from headwater.engines.constructs import VERIFIED
from headwater.engines.dialects import STEPS, render
from headwater.project.sql_errors import PROJECT_DIALECT

#: Fixture names (conftest.py), one per engine; each case runs on every one.
GOLDEN_ENGINES = ["duckdb_golden", "postgres_golden", "spark_golden"]

CASES = Path(__file__).parent / "cases"
SCHEMA = "golden"

_TYPES = {
    "int64": pa.int64(),
    "float64": pa.float64(),
    "string": pa.string(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "decimal": pa.decimal128(18, 3),
}


@dataclass(frozen=True)
class Case:
    name: str  # the file's stem
    construct: str
    doc: str
    tables: dict[str, pa.Table]
    query: str
    columns: list[str]
    rows: list[list[Any]]


def load_cases() -> list[Case]:
    """Every case file, sorted by name."""
    return [load_case(path) for path in sorted(CASES.glob("*.yml"))]


def load_case(path: Path) -> Case:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    tables = {name: _table(spec) for name, spec in (data.get("tables") or {}).items()}
    expected = data["expected"]
    return Case(
        path.stem,
        data.get("construct") or "",
        data.get("doc") or "",
        tables,
        data["query"],
        list(expected["columns"]),
        [list(row) for row in expected["rows"]],
    )


def _table(spec: dict[str, Any]) -> pa.Table:
    columns: dict[str, str] = spec["columns"]
    rows: list[list[Any]] = spec.get("rows") or []
    arrays = [
        pa.array([_value(row[i], kind) for row in rows], type=_TYPES[kind])
        for i, kind in enumerate(columns.values())
    ]
    return pa.table(arrays, names=list(columns))


def _value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "decimal":
        return Decimal(str(value))
    if kind == "timestamp" and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def normalize(value: Any) -> Any:
    """A value as cases compare it: exact decimals and floats to 9 significant places,
    timestamps without a zone as they are and with one as their UTC wall time (Spark
    reads a TIMESTAMP as an instant, PostgreSQL a date_trunc of a DATE), lists element by
    element."""
    if isinstance(value, list | tuple):
        return [normalize(v) for v in value]
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return value if math.isnan(value) else float(f"{value:.9g}")
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, datetime | date | str | int | bool) or value is None:
        return value
    return str(value)


def is_proven(case: Case, dialect: str) -> bool:
    """Whether ``dialect`` must answer ``case`` as DuckDB does: its construct is proven
    there (or it has none, or the dialect is the project's own)."""
    return (
        dialect == PROJECT_DIALECT
        or not case.construct
        or case.construct in VERIFIED.get(dialect, frozenset())
    )


def run_case(engine: Engine, case: Case) -> tuple[list[str], list[list[Any]]]:
    """The case's setup written and its query run on ``engine``: columns and rows.
    Raises ``headwater.engines.dialects.Untranslatable`` when the engine's dialect refuses
    the case's construct."""
    engine.ensure_schemas({SCHEMA})
    for name, table in case.tables.items():
        engine.write_table(SCHEMA, name, table, materialized="table")
    answer = engine.query_arrow(render(case.query, engine.capabilities.dialect))
    rows = [list(row.values()) for row in answer.to_pylist()]
    return answer.column_names, [[normalize(v) for v in row] for row in rows]


def translated(case: Case, dialect: str) -> str:
    """The case's query as sqlglot renders it for ``dialect`` with no refusal: what an
    engine's author runs to find out whether a construct can be proven there."""
    steps = dict(STEPS)
    return str(steps["generate"](steps["parse"](case.query, dialect), dialect))
