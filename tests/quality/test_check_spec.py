"""Declaring checks: parsing, defaults, and errors that name the file and line."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from headwater.errors import ConfigError
from headwater.quality import Check, Threshold, parse_checks, resolve_references, validate_columns

SIDECAR = """\
materialized: table
description: sales
checks:
  - type: not_null
    column: order_id
  - unique: [order_id, sku]
  - accepted_values:
      column: status
      values: [placed, shipped]
    severity: warn
  - type: range
    column: quantity
    min: 1
    max: 1000
    error_if: "> 0.5%"
    warn_if: "> 0"
  - type: freshness
    column: ordered_at
    max_age: 24 hours
  - {type: row_count_anomaly, window: 7, max_z: 2.5}
"""


def sidecar(tmp_path: Path, text: str) -> tuple[Path, str]:
    path = tmp_path / "fct_sales.yml"
    path.write_text(text)
    return path, text


def parse_yaml(tmp_path: Path, text: str, **kw) -> tuple[Check, ...]:
    path, text = sidecar(tmp_path, text)
    data = yaml.safe_load(text)
    return parse_checks(data["checks"], path=path, text=text, **kw)


def test_parse_sidecar(tmp_path: Path) -> None:
    checks = parse_yaml(tmp_path, SIDECAR, asset="marts.fct_sales")
    names = [c.name for c in checks]
    assert names == [
        "not_null_order_id",
        "unique_order_id_sku",
        "accepted_values_status",
        "range_quantity",
        "freshness_ordered_at",
        "row_count_anomaly",
    ]
    nn, uq, av, rg, fr, an = checks
    assert nn.severity == "error" and nn.column == "order_id"
    assert uq.columns == ("order_id", "sku")
    assert av.severity == "warn" and av.values == ("placed", "shipped")
    assert rg.error_if == Threshold(">", 0.5, percent=True) and rg.warn_if == Threshold(">", 0)
    assert fr.max_age == 86400.0
    assert an.window == 7 and an.max_z == 2.5
    assert nn.location.endswith("fct_sales.yml:4")
    assert rg.location.endswith("fct_sales.yml:11")
    assert an.location.endswith("fct_sales.yml:20")


def test_checks_are_frozen_and_hashable(tmp_path: Path) -> None:
    checks = parse_yaml(tmp_path, SIDECAR)
    assert len(set(checks)) == len(checks)
    with pytest.raises(AttributeError):
        checks[0].name = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("item", "line", "needle"),
    [
        (
            "  - type: not_nul\n    column: a\n",
            4,
            "unknown check type 'not_nul' (did you mean not_null?)",
        ),
        ("  - type: not_null\n", 4, "a not_null check needs `column`"),
        ("  - type: not_null\n    colum: a\n", 5, "unknown key 'colum'"),
        ("  - type: not_null\n    column: a\n    error_if: 'more than 5'\n", 6, "bad threshold"),
        ("  - type: not_null\n    column: a\n    error_if: '> 150%'\n", 6, "at most 100%"),
        ("  - type: not_null\n    column: a\n    severity: fatal\n", 6, "severity must be"),
        ("  - type: expression\n    sql: 'amount >'\n", 5, "invalid SQL 'amount >'"),
        ("  - type: expression\n    sql: 'a = 1; drop table x'\n", 5, "invalid SQL"),
        ("  - type: sql\n    sql: 'delete from t'\n", 5, "expected one SELECT"),
        ("  - type: regex\n    column: a\n    pattern: '(['\n", 6, "invalid regular expression"),
        ("  - type: range\n    column: a\n", 4, "needs `min` or `max`"),
        ("  - type: range\n    column: a\n    min: 5\n    max: 1\n", 6, "greater than max"),
        ("  - type: freshness\n    column: a\n    max_age: soon\n", 6, "bad duration"),
        ("  - type: row_count\n    min: 1\n    error_if: '> 1'\n", 6, "does not apply"),
        (
            "  - type: not_null\n    column: a\n    severity: warn\n    error_if: '> 1'\n",
            7,
            "contradicts",
        ),
        ("  - type: not_null\n    column: a\n    on_fail: quarantine\n", 6, "only for source"),
        (
            "  - type: accepted_values\n    column: a\n    values: [x, null]\n",
            6,
            "cannot contain null",
        ),
        ("  - type: row_count_anomaly\n    window: 1\n", 5, "`window`"),
        ("  - just_a_string\n", 4, "expected a mapping"),
        ("  - type: [not_null]\n    column: a\n", 4, "unknown check type ['not_null']"),
        ("  - not_null: a\n    severity: warn\n    warn_if: 5%\n", 6, "bad threshold '5%'"),
    ],
)
def test_invalid_yaml_names_file_and_line(
    tmp_path: Path, item: str, line: int, needle: str
) -> None:
    text = "materialized: table\n# a comment\nchecks:\n" + item
    with pytest.raises(ConfigError) as info:
        parse_yaml(tmp_path, text, asset="marts.x")
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'fct_sales.yml'}:{line}: check "), message
    assert needle in message, message


def test_every_problem_is_reported(tmp_path: Path) -> None:
    text = "checks:\n  - type: nope\n  - type: not_null\n    column: a\n  - type: unique\n"
    with pytest.raises(ConfigError) as info:
        parse_yaml(tmp_path, text)
    lines = str(info.value).splitlines()
    assert [ln.split(": ", 1)[0].rsplit(":", 1)[1] for ln in lines] == ["2", "5"]


def test_duplicate_names(tmp_path: Path) -> None:
    text = "checks:\n  - not_null: a\n  - type: not_null\n    column: a\n"
    with pytest.raises(ConfigError, match=r"fct_sales.yml:3: check not_null_a: duplicate name"):
        parse_yaml(tmp_path, text)


def test_header_comment_offsets_lines(tmp_path: Path) -> None:
    # the loader hands the header's YAML and the file line where it starts
    path = tmp_path / "m.sql"
    header_yaml = "\nmaterialized: table\nchecks:\n  - type: not_null\n    column: [x]\n"
    with pytest.raises(ConfigError, match=r"m.sql:15: check not_null_x: `column` must be"):
        parse_checks(
            yaml.safe_load(header_yaml)["checks"], path=path, text=header_yaml, first_line=11
        )


TOML = """\
[project]
name = "shop"

[sources.eu]
connection = "eu"
tables = ["orders"]

[[sources.eu.checks]]
type = "not_null"
column = "id"
on_fail = "quarantine"

[[sources.eu.checks]]
type = "range"
column = "qty"
min = 0
error_if = "> lots"

[sources.africa]
files = "x/*.csv"
checks = [
  { type = "not_null", column = "id" },
  { type = "unique", columns = ["id"], severity = "bogus" },
]
"""


def test_toml_array_of_tables(tmp_path: Path) -> None:
    path = tmp_path / "headwater.toml"
    path.write_text(TOML)
    data = tomllib.loads(TOML)
    with pytest.raises(ConfigError) as info:
        parse_checks(
            data["sources"]["eu"]["checks"],
            path=path,
            text=TOML,
            key=("sources", "eu", "checks"),
            asset="raw.eu_orders",
            quarantine_allowed=True,
        )
    assert str(info.value).startswith(f"{path}:17: check range_qty of raw.eu_orders: bad threshold")
    ok = parse_checks(
        data["sources"]["eu"]["checks"][:1],
        path=path,
        text=TOML,
        key=("sources", "eu", "checks"),
        quarantine_allowed=True,
    )
    assert ok[0].quarantines and ok[0].location == f"{path}:8"


def test_toml_inline_tables(tmp_path: Path) -> None:
    path = tmp_path / "headwater.toml"
    data = tomllib.loads(TOML)
    with pytest.raises(ConfigError, match=r"headwater.toml:23: check unique_id: severity"):
        parse_checks(
            data["sources"]["africa"]["checks"],
            path=path,
            text=TOML,
            key=("sources", "africa", "checks"),
        )


def test_validate_columns(tmp_path: Path) -> None:
    text = (
        "checks:\n  - not_null: id\n  - unique: [id, skus]\n"
        "  - type: expression\n    sql: amount >= 0 and amout < 10\n"
    )
    checks = parse_yaml(tmp_path, text)
    columns = {"id": "BIGINT", "sku": "VARCHAR", "amount": "DOUBLE"}
    with pytest.raises(ConfigError) as info:
        validate_columns(checks, columns)
    lines = str(info.value).splitlines()
    assert lines[0].startswith(
        f"{tmp_path / 'fct_sales.yml'}:3: check unique_id_skus: unknown column 'skus' (did you mean sku?)"
    )
    assert lines[1].startswith(
        f"{tmp_path / 'fct_sales.yml'}:4: check expression_amount_0_and_amout_10: unknown column 'amout'"
    )
    validate_columns(checks[:1], {"ID": "BIGINT"})  # case-insensitive, as DuckDB


def test_resolve_references(tmp_path: Path) -> None:
    checks = parse_yaml(tmp_path, "checks:\n  - {type: relationships, column: sku, to: products}\n")
    assert checks[0].references == ("products",) and checks[0].field == "sku"
    (resolved,) = resolve_references(checks, {"products": "raw.products"}.__getitem__)
    assert resolved.to == "raw.products"


@pytest.mark.parametrize(
    ("text", "failing", "total", "holds"),
    [
        ("> 100", 100, 1000, False),
        ("> 100", 101, 1000, True),
        (">= 5", 5, 10, True),
        ("< 5", 5, 10, False),
        ("= 0", 0, 10, True),
        ("!= 0", 0, 10, False),
        ("> 0.1%", 1, 1000, False),
        ("> 0.1%", 2, 1000, True),
        (">= 0.1%", 1, 1000, True),
        ("> 0%", 0, 0, False),
        (3, 4, 10, True),
    ],
)
def test_threshold(text: object, failing: int, total: int, holds: bool) -> None:
    assert Threshold.parse(text).holds(failing, total) is holds
