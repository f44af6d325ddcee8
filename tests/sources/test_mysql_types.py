"""Every row of docs/types-mysql.md: a real MariaDB column, loaded by the real runtime.

One table holds a column per type and three rows (low edge, high edge, all NULL); it is
loaded once per module, and each type is its own test of the warehouse type and values.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_mysql_helpers import execute, project_toml, warehouse, write_and_run

from headwater.testing.servers import MariaDBServer, mariadb_available

pytestmark = pytest.mark.skipif(not mariadb_available(), reason="MariaDB is not installed")

BIG = Decimal("9999999999999999999999999999.9999999999")
WIDE = "12345678901234567890123456789012345.123456789012345678901234567890"

# column, MySQL type, value A (SQL), value B (SQL), DuckDB type, expected A, expected B
TYPES: list[tuple[str, str, str, str, str, Any, Any]] = [
    ("c_tinyint", "tinyint", "-128", "127", "TINYINT", -128, 127),
    ("c_tinyint_u", "tinyint unsigned", "0", "255", "UTINYINT", 0, 255),
    ("c_smallint", "smallint", "-32768", "32767", "SMALLINT", -32768, 32767),
    ("c_smallint_u", "smallint unsigned", "0", "65535", "USMALLINT", 0, 65535),
    ("c_mediumint", "mediumint", "-8388608", "8388607", "INTEGER", -8388608, 8388607),
    ("c_mediumint_u", "mediumint unsigned", "0", "16777215", "UINTEGER", 0, 16777215),
    ("c_int", "int", "-2147483648", "2147483647", "INTEGER", -(2**31), 2**31 - 1),
    ("c_int_u", "int unsigned", "0", "4294967295", "UINTEGER", 0, 2**32 - 1),
    ("c_bigint", "bigint", str(-(2**63)), str(2**63 - 1), "BIGINT", -(2**63), 2**63 - 1),
    ("c_bigint_u", "bigint unsigned", "0", str(2**64 - 1), "UBIGINT", 0, 2**64 - 1),
    (
        "c_decimal_10_2",
        "decimal(10,2)",
        "-99999999.99",
        "0.01",
        "DECIMAL(10,2)",
        Decimal("-99999999.99"),
        Decimal("0.01"),
    ),
    (
        "c_decimal_38_10",
        "decimal(38,10)",
        f"-{BIG}",
        "1234567890123456789012345678.0123456789",
        "DECIMAL(38,10)",
        Decimal(f"-{BIG}"),
        Decimal("1234567890123456789012345678.0123456789"),
    ),
    (
        "c_decimal_20_15",
        "decimal(20,15)",
        "-12345.123456789012345",
        "0.000000000000001",
        "DECIMAL(20,15)",
        Decimal("-12345.123456789012345"),
        Decimal("0.000000000000001"),
    ),
    ("c_decimal_65_30", "decimal(65,30)", f"-{WIDE}", "0", "VARCHAR", f"-{WIDE}", "0." + "0" * 30),
    ("c_float", "float", "1.5", "-3.40282e38", "FLOAT", 1.5, pytest.approx(-3.40282e38, rel=1e-6)),
    (
        "c_double",
        "double",
        "1.0000000000000002",
        "-1.7976931348623157e308",
        "DOUBLE",
        1.0000000000000002,
        -1.7976931348623157e308,
    ),
    ("c_bit1", "bit(1)", "b'0'", "b'1'", "BOOLEAN", False, True),
    ("c_bit64", "bit(64)", "b'10101010'", "x'ffffffffffffffff'", "UBIGINT", 170, 2**64 - 1),
    ("c_boolean", "boolean", "false", "true", "BOOLEAN", False, True),
    ("c_char", "char(5)", "'ab'", "''", "VARCHAR", "ab", ""),
    ("c_varchar", "varchar(20)", "'héllo 😀'", "''", "VARCHAR", "héllo 😀", ""),
    ("c_text", "text", "REPEAT('ü', 30000)", "'🦆'", "VARCHAR", "ü" * 30000, "🦆"),
    ("c_enum", "enum('small','large')", "'large'", "'small'", "VARCHAR", "large", "small"),
    ("c_set", "set('x','y')", "'x,y'", "''", "VARCHAR", "x,y", ""),
    (
        "c_date",
        "date",
        "'1000-01-01'",
        "'9999-12-31'",
        "DATE",
        date(1000, 1, 1),
        date(9999, 12, 31),
    ),
    ("c_date_zero", "date", "'0000-00-00'", "'2024-02-29'", "DATE", None, date(2024, 2, 29)),
    ("c_time", "time", "'00:00:00'", "'23:59:59'", "TIME", time(0), time(23, 59, 59)),
    (
        "c_time6",
        "time(6)",
        "'12:34:56.123456'",
        "'00:00:00.000001'",
        "TIME",
        time(12, 34, 56, 123456),
        time(0, 0, 0, 1),
    ),
    (
        "c_datetime",
        "datetime",
        "'1000-01-01 00:00:00'",
        "'0000-00-00 00:00:00'",
        "TIMESTAMP",
        datetime(1000, 1, 1),
        None,
    ),
    (
        "c_datetime6",
        "datetime(6)",
        "'2024-01-02 03:04:05.654321'",
        "'9999-12-31 23:59:59.999999'",
        "TIMESTAMP",
        datetime(2024, 1, 2, 3, 4, 5, 654321),
        datetime(9999, 12, 31, 23, 59, 59, 999999),
    ),
    (
        # written in a +02:00 session: stored and loaded as the UTC instant
        "c_timestamp6",
        "timestamp(6) null",
        "'2024-06-01 12:00:00.5'",
        "'2038-01-19 05:14:07.999999'",
        "TIMESTAMP WITH TIME ZONE",
        datetime(2024, 6, 1, 10, 0, 0, 500000, tzinfo=UTC),
        datetime(2038, 1, 19, 3, 14, 7, 999999, tzinfo=UTC),
    ),
    (
        "c_timestamp_zero",
        "timestamp null",
        "'0000-00-00 00:00:00'",
        "'1970-01-01 02:00:01'",
        "TIMESTAMP WITH TIME ZONE",
        None,
        datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC),
    ),
    ("c_year", "year", "1901", "2155", "SMALLINT", 1901, 2155),
    ("c_year_zero", "year", "0", "2024", "SMALLINT", None, 2024),
    ("c_json", "json", """'{"a": [1, "é"]}'""", "'null'", "VARCHAR", '{"a": [1, "é"]}', "null"),
    ("c_blob", "blob", "x'00ff00'", "''", "BLOB", b"\x00\xff\x00", b""),
    (
        "c_binary",
        "binary(4)",
        "x'00'",
        "x'01020304'",
        "BLOB",
        b"\x00\x00\x00\x00",
        b"\x01\x02\x03\x04",
    ),
    ("c_varbinary", "varbinary(10)", "x'000a00'", "''", "BLOB", b"\x00\n\x00", b""),
]


@pytest.fixture(scope="module")
def loaded(
    mariadb_server: MariaDBServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    url = mariadb_server.create_database(f"types_{uuid.uuid4().hex[:8]}")
    columns = ", ".join(f"{name} {ddl}" for name, ddl, *_ in TYPES)
    values_a = ", ".join(a for _, _, a, *_ in TYPES)
    values_b = ", ".join(b for _, _, _, b, *_ in TYPES)
    nulls = ", ".join("NULL" for _ in TYPES)
    execute(
        url,
        f"create table t (id int primary key, {columns}) default charset utf8mb4",
        f"insert into t values (1, {values_a}), (2, {values_b}), (3, {nulls})",
        session_zone="+02:00",
    )
    root = tmp_path_factory.mktemp("types") / "proj"
    result = write_and_run(root, project_toml(url, 'tables = ["t"]\nprimary_key = ["id"]'))
    step = result.steps["raw.my_t"]
    assert step.status == "success", step.error
    types = dict(
        warehouse(
            root,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'my_t'",
        )
    )
    return root, types


@pytest.mark.parametrize(
    ("name", "ddl", "a", "b", "duck", "want_a", "want_b"), TYPES, ids=[t[0] for t in TYPES]
)
def test_type(loaded, name, ddl, a, b, duck, want_a, want_b) -> None:
    root, types = loaded
    assert types[name] == duck, f"{ddl} became {types[name]}"
    if duck == "TIMESTAMP WITH TIME ZONE":  # compared as UTC epoch microseconds (no pytz)
        rows = warehouse(root, f"select epoch_us({name}) from raw.my_t order by id")
        want_a, want_b = _epoch_us(want_a), _epoch_us(want_b)
    else:
        rows = warehouse(root, f"select {name} from raw.my_t order by id")
    assert rows[0][0] == want_a
    assert rows[1][0] == want_b
    assert rows[2][0] is None  # NULL stays NULL in every type


def _epoch_us(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def test_primary_key_type_and_row_count(loaded) -> None:
    root, types = loaded
    assert types["id"] == "INTEGER"
    assert warehouse(root, "select count(*) from raw.my_t") == [(3,)]


def test_time_beyond_a_day_fails_the_load_named(mariadb_url, tmp_path) -> None:
    execute(
        mariadb_url,
        "create table d (id int primary key, took time)",
        "insert into d values (1, '01:00:00'), (2, '-838:59:59')",
    )
    result = write_and_run(tmp_path / "p", project_toml(mariadb_url, 'tables = ["d"]'))
    error = result.steps["raw.my_d"].error or ""
    assert result.steps["raw.my_d"].status == "failed"
    assert "column 'took' (time)" in error and "row 2" in error and "-838:59:59" in error
    assert "\n" not in error
