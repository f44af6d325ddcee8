"""Every row of docs/types.md (PostgreSQL): a real column, loaded by the real runtime.

One table holds a column per type and three rows (edge A, edge B, all NULL). The database's
default time zone is America/New_York, so literals without an offset, and any session that
forgot to set its own zone, are off by hours: the connector must not depend on it. The
table is loaded once per module; each type is its own test of the warehouse type and values.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import write_project
from headwater.testing.servers import PostgresServer, postgres_available

pytestmark = pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not installed")

US = 1_000_000
BIG = "9999999999999999999999999999.9999999999"
PI = "3.14159265358979323846264338327950288419716939937510"
WIDE = "1234567890123456789012345678901234567890.12345678901234567890"

# column, PostgreSQL type, value A (SQL), value B (SQL), DuckDB type, expected A, expected B,
# and how to read it back from DuckDB ("{c}" is the column)
TYPES: list[tuple[str, str, str, str, str, Any, Any, str]] = [
    ("c_smallint", "smallint", "-32768", "32767", "SMALLINT", -32768, 32767, "{c}"),
    ("c_integer", "integer", "-2147483648", "2147483647", "INTEGER", -(2**31), 2**31 - 1, "{c}"),
    ("c_bigint", "bigint", str(-(2**63)), str(2**63 - 1), "BIGINT", -(2**63), 2**63 - 1, "{c}"),
    ("c_domain", "posint", "1", "2147483647", "INTEGER", 1, 2**31 - 1, "{c}"),
    ("c_oid", "oid", "4294967295", "0", "BIGINT", 2**32 - 1, 0, "{c}"),
    (
        "c_numeric_12_2",
        "numeric(12,2)",
        "-9999999999.99",
        "0.01",
        "DECIMAL(12,2)",
        Decimal("-9999999999.99"),
        Decimal("0.01"),
        "{c}",
    ),
    (
        "c_numeric_18_6",
        "numeric(18,6)",
        "-999999999999.999999",
        "0.000001",
        "DECIMAL(18,6)",
        Decimal("-999999999999.999999"),
        Decimal("0.000001"),
        "{c}",
    ),
    (
        "c_numeric_38_10",
        "numeric(38,10)",
        f"-{BIG}",
        "1234567890123456789012345678.0123456789",
        "DECIMAL(38,10)",
        Decimal(f"-{BIG}"),
        Decimal("1234567890123456789012345678.0123456789"),
        "{c}",
    ),
    (
        "c_numeric_neg_scale",
        "numeric(5,-2)",
        "-9999900",
        "149",
        "DECIMAL(7,0)",
        Decimal("-9999900"),
        Decimal("100"),
        "{c}",
    ),
    ("c_numeric", "numeric", PI, "'NaN'", "VARCHAR", PI, "NaN", "{c}"),
    (
        "c_numeric_wide",
        "numeric(60,20)",
        f"-{WIDE}",
        "0",
        "VARCHAR",
        f"-{WIDE}",
        "0." + "0" * 20,
        "{c}",
    ),
    (
        "c_money",
        "money",
        "'-92233720368547758.08'",
        "'12.34'",
        "DECIMAL(19,2)",
        Decimal("-92233720368547758.08"),
        Decimal("12.34"),
        "{c}",
    ),
    ("c_real", "real", "1.5", "'-Infinity'", "FLOAT", 1.5, float("-inf"), "{c}"),
    (
        "c_real_nan",
        "real",
        "'NaN'",
        "-3.4028235e38",
        "FLOAT",
        "nan",
        "-3.4028235e+38",
        "{c}::varchar",
    ),
    (
        "c_double",
        "double precision",
        "0.1",
        "-1.7976931348623157e308",
        "DOUBLE",
        0.1,
        -1.7976931348623157e308,
        "{c}",
    ),
    (
        "c_double_nan",
        "double precision",
        "'NaN'",
        "'Infinity'",
        "DOUBLE",
        "nan",
        "inf",
        "{c}::varchar",
    ),
    ("c_boolean", "boolean", "false", "true", "BOOLEAN", False, True, "{c}"),
    (
        "c_text",
        "text",
        "E'h\\u00e9llo \U0001f986\\n\\t\"q''s\"'",
        "''",
        "VARCHAR",
        'héllo 🦆\n\t"q\'s"',
        "",
        "{c}",
    ),
    ("c_text_toasted", "text", "repeat('ü', 100000)", "'🦆'", "VARCHAR", "ü" * 100000, "🦆", "{c}"),
    # char(n): PostgreSQL's own text of the value, trailing blanks gone (leading ones kept)
    ("c_char", "char(3)", "' ab'", "''", "VARCHAR", " ab", "", "{c}"),
    ("c_bpchar", "bpchar", "E'a b\\t  '", "' '", "VARCHAR", "a b\t", "", "{c}"),  # blanks only
    ("c_varchar", "varchar(5)", "'x'", "''", "VARCHAR", "x", "", "{c}"),
    ("c_enum", "mood", "'happy'", "'sad'", "VARCHAR", "happy", "sad", "{c}"),
    (
        "c_date",
        "date",
        "'0001-01-01'",
        "'2024-02-29'",
        "DATE",
        date(1, 1, 1),
        date(2024, 2, 29),
        "{c}",
    ),
    (
        "c_date_far",
        "date",
        "'4713-01-01 BC'",
        "'5874897-12-31'",
        "DATE",
        "4713-01-01 (BC)",
        "5874897-12-31",
        "{c}::varchar",
    ),
    (
        "c_date_infinity",
        "date",
        "'-infinity'",
        "'infinity'",
        "DATE",
        "-infinity",
        "infinity",
        "{c}::varchar",
    ),
    (
        "c_time",
        "time",
        "'00:00:00'",
        "'23:59:59.999999'",
        "TIME",
        time(0),
        time(23, 59, 59, 999999),
        "{c}",
    ),
    (
        "c_time_24",
        "time(3)",
        "'24:00:00'",
        "'12:30:00.123'",
        "TIME",
        "24:00:00",
        "12:30:00.123",
        "{c}::varchar",
    ),
    (
        "c_timestamp",
        "timestamp",
        "'1900-01-01 00:00:00'",
        "'2024-02-29 23:59:59.999999'",
        "TIMESTAMP",
        "1900-01-01 00:00:00",
        "2024-02-29 23:59:59.999999",
        "{c}::varchar",
    ),
    (
        "c_timestamp_infinity",
        "timestamp",
        "'-infinity'",
        "'infinity'",
        "TIMESTAMP",
        "-infinity",
        "infinity",
        "{c}::varchar",
    ),
    (
        # inserted in a New York session: 10:00 there is 15:00 UTC
        "c_timestamptz",
        "timestamptz",
        "'2024-01-01 10:00:00'",
        "'2024-07-01 10:00:00.000001+02'",
        "TIMESTAMP WITH TIME ZONE",
        1_704_121_200 * US,
        1_719_820_800 * US + 1,
        "epoch_us({c})",
    ),
    (
        "c_interval",
        "interval",
        "'-1 year -2 months 3 days -04:05:06.7'",
        "'1 day 00:00:00.000001'",
        "INTERVAL",
        "-1 year -2 months 3 days -04:05:06.7",
        "1 day 00:00:00.000001",
        "{c}::varchar",
    ),
    (
        "c_uuid",
        "uuid",
        "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
        "'00000000-0000-0000-0000-000000000000'",
        "UUID",
        uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        uuid.UUID(int=0),
        "{c}",
    ),
    (
        "c_json",
        "json",
        """'{"a": [1, 2.5, "é"]}'""",
        "'[]'",
        "JSON",
        '{"a": [1, 2.5, "é"]}',
        "[]",
        "{c}",
    ),
    (
        "c_jsonb",
        "jsonb",
        """'{"b": null, "a": 1}'""",
        """'"x"'""",
        "JSON",
        '{"a": 1, "b": null}',
        '"x"',
        "{c}",
    ),
    ("c_int_array", "integer[]", "'{1,NULL,3}'", "'{}'", "INTEGER[]", [1, None, 3], [], "{c}"),
    (
        "c_text_array",
        "text[]",
        """'{"a,b","",NULL,"é"}'""",
        "'{}'",
        "VARCHAR[]",
        ["a,b", "", None, "é"],
        [],
        "{c}",
    ),
    (
        "c_numeric_array",
        "numeric(10,2)[]",
        "'{1.50,NULL,-2}'",
        "'{}'",
        "DECIMAL(10,2)[]",
        [Decimal("1.50"), None, Decimal("-2.00")],
        [],
        "{c}",
    ),
    ("c_enum_array", "mood[]", "'{sad,ok}'", "'{}'", "VARCHAR[]", ["sad", "ok"], [], "{c}"),
    (
        "c_char_array",
        "char(3)[]",
        "'{a,\"b c\",NULL}'",
        "'{}'",
        "VARCHAR[]",
        ["a", "b c", None],
        [],
        "{c}",
    ),
    (
        "c_date_array",
        "date[]",
        "'{2024-01-01,infinity}'",
        "'{NULL}'",
        "DATE[]",
        "[2024-01-01, infinity]",
        "[NULL]",
        "{c}::varchar",
    ),
    (
        "c_timestamptz_array",
        "timestamptz[]",
        "'{\"2024-01-01 10:00:00\"}'",
        "'{}'",
        "TIMESTAMP WITH TIME ZONE[]",
        [1_704_121_200 * US],
        [],
        "list_transform({c}, x -> epoch_us(x))",
    ),
    ("c_bytea", "bytea", "'\\x00ff00'", "'\\x'", "BLOB", b"\x00\xff\x00", b"", "{c}"),
    (
        "c_composite",
        "pair",
        "ROW(1, 'x')",
        "ROW(NULL, '')",
        "STRUCT(a INTEGER, b VARCHAR)",
        {"a": 1, "b": "x"},
        {"a": None, "b": ""},
        "{c}",
    ),
    ("c_inet", "inet", "'10.0.0.1/8'", "'::1'", "VARCHAR", "10.0.0.1/8", "::1", "{c}"),
    (
        "c_timetz",
        "timetz",
        "'10:00:00+02'",
        "'23:59:59.999999-14'",
        "VARCHAR",
        "10:00:00+02",
        "23:59:59.999999-14",
        "{c}",
    ),
    ("c_range", "int4range", "'[1,5)'", "'empty'", "VARCHAR", "[1,5)", "empty", "{c}"),
    ("c_bit", "bit varying(8)", "B'101'", "B''", "VARCHAR", "101", "", "{c}"),
    ("c_xml", "xml", "'<a>é</a>'", "''", "VARCHAR", "<a>é</a>", "", "{c}"),
]

SETUP = """
create type mood as enum ('sad', 'ok', 'happy');
create type pair as (a integer, b text);
create domain posint as integer check (value > 0);
"""


# The columns the warehouse reads natively (transport "native", DuckDB's postgres
# extension): each must give exactly what the Arrow path gives. The others go through
# Arrow; a column missing here that native reading accepted would be a silent change.
NATIVE = {
    "c_smallint", "c_integer", "c_bigint", "c_oid", "c_numeric_12_2", "c_numeric_18_6",
    "c_numeric_38_10", "c_real", "c_real_nan", "c_double", "c_double_nan", "c_boolean",
    "c_text", "c_text_toasted", "c_char", "c_bpchar", "c_varchar", "c_enum", "c_date", "c_date_far",
    "c_date_infinity", "c_time", "c_time_24", "c_timestamp", "c_timestamp_infinity",
    "c_timestamptz", "c_interval", "c_uuid", "c_json", "c_jsonb", "c_bytea",
}  # fmt: skip


def _table(url: str, table: str, types: list[tuple[Any, ...]]) -> None:
    """``table`` with a column per row of ``types`` and three rows: A, B, all NULL."""
    with psycopg.connect(url, autocommit=True) as con:  # a session in New York
        columns = ", ".join(f"{c} {t}" for c, t, *_ in types)
        con.execute(f"create table {table} (id integer primary key, {columns})")
        names = ", ".join(c for c, *_ in types)
        a = ", ".join(row[2] for row in types)
        b = ", ".join(row[3] for row in types)
        nulls = ", ".join(["null"] * len(types))
        con.execute(f"insert into {table} (id, {names}) values (1, {a}), (2, {b}), (3, {nulls})")


def _run(url: str, root: Path, table: str, transport: str) -> Any:
    """Load ``table`` into a new project at ``root``; returns the run's result."""
    toml = (
        f'[connections.pg]\nurl = "{url}"\n\n[sources.pg]\nconnection = "pg"\n'
        f'tables = ["{table}"]\nprimary_key = ["id"]\nwrite = "replace"\n'
        f'transport = "{transport}"\n'
    )
    write_project(root, {"headwater.toml": toml})
    return run(load_project(root))


def _load(
    url: str, root: Path, table: str, types: list[tuple[Any, ...]], transport: str
) -> duckdb.DuckDBPyConnection:
    _table(url, table, types)
    result = _run(url, root, table, transport)
    assert result.status == "success", result.steps[f"raw.pg_{table}"].error
    return duckdb.connect(str(root / ".headwater/warehouse.duckdb"), read_only=True)


def _database(server: PostgresServer) -> str:
    """A new database whose sessions default to New York time, with SETUP's types."""
    url = server.create_database(f"types_{uuid.uuid4().hex[:10]}")
    database = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"alter database {database} set timezone to 'America/New_York'")
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(SETUP)
    return url


@pytest.fixture(scope="module")
def loaded(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, duckdb.DuckDBPyConnection]]:
    """Warehouses by transport: every type through Arrow, the NATIVE ones natively."""
    tmp = tmp_path_factory.mktemp("types")
    native = [row for row in TYPES if row[0] in NATIVE]
    warehouses = {
        "arrow": _load(_database(postgres_server), tmp / "arrow", "all_types", TYPES, "arrow"),
        "native": _load(_database(postgres_server), tmp / "native", "all_types", native, "native"),
    }
    yield warehouses
    for wh in warehouses.values():
        wh.close()


@pytest.mark.parametrize(
    ("transport", "column", "pg_type", "duck_type", "a", "b", "read"),
    [
        pytest.param(transport, c, t, d, a, b, r, id=f"{transport}-{t}-{c}")
        for transport in ("arrow", "native")
        for c, t, _, _, d, a, b, r in TYPES
        if transport == "arrow" or c in NATIVE
    ],
)
def test_type(
    loaded: dict[str, duckdb.DuckDBPyConnection],
    transport: str,
    column: str,
    pg_type: str,
    duck_type: str,
    a: Any,
    b: Any,
    read: str,
) -> None:
    wh = loaded[transport]
    (kind,) = wh.execute(
        "select data_type from information_schema.columns "
        "where table_name = 'pg_all_types' and column_name = ?",
        [column],
    ).fetchone() or (None,)
    assert kind == duck_type, f"{pg_type}: {kind}"
    rows = wh.execute(
        f"select {read.format(c=column)} from raw.pg_all_types order by id"
    ).fetchall()
    assert [r[0] for r in rows] == [a, b, None], pg_type


@pytest.mark.parametrize(("column", "pg_type"), [(c, t) for c, t, *_ in TYPES if c not in NATIVE])
def test_types_native_cannot_map_are_refused_by_native_and_read_by_auto(
    postgres_server: PostgresServer, tmp_path: Path, column: str, pg_type: str
) -> None:
    """transport = "native" refuses a table with such a column, naming it; "auto" (the
    default) reads it through Arrow and gets the values test_type checks."""
    row = next(r for r in TYPES if r[0] == column)
    _, _, _, _, duck_type, a, b, read = row
    postgres_url = _database(postgres_server)
    _table(postgres_url, "t", [row])
    refused = _run(postgres_url, tmp_path / "native", "t", "native")
    assert refused.status == "failed"
    error = refused.steps["raw.pg_t"].error or ""
    assert f"transport = 'native' is not possible: column {column!r} (" in error, error
    assert _run(postgres_url, tmp_path / "auto", "t", "auto").status == "success"
    wh = duckdb.connect(str(tmp_path / "auto/.headwater/warehouse.duckdb"), read_only=True)
    try:
        rows = wh.execute(f"select {read.format(c=column)} from raw.pg_t order by id").fetchall()
        (kind,) = wh.execute(
            "select data_type from information_schema.columns where column_name = ?", [column]
        ).fetchone() or (None,)
    finally:
        wh.close()
    assert kind == duck_type, pg_type
    assert [r[0] for r in rows] == [a, b, None], pg_type


def test_row_count_and_keys(loaded: dict[str, duckdb.DuckDBPyConnection]) -> None:
    for wh in loaded.values():
        assert wh.execute("select id from raw.pg_all_types order by id").fetchall() == [
            (1,),
            (2,),
            (3,),
        ]
