"""A folder key (``month=01/``) that is also a column of the files is refused on a
PostgreSQL warehouse as on DuckDB: the files' columns are read where the engine scans the
files (a local DuckDB), not sent to the server, which cannot read them; before, the check
was skipped there and the load replaced the file's ``1`` with the folder's ``01``."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.engines.spark.engine import SparkEngine
from headwater.errors import SourceError
from headwater.testing.cli import invoke, query_warehouse, write_project

CLEAN_CSV = "id,month\n1,1\n2,12\n"
# DuckDB's CSV sniffer, reading every line, once took this file for one column "id,month"
CSV_WITH_A_BAD_LINE = "id,month\n1,1\n2,12,x\n3,3\n"
# a strict JSON scan fails on line 2, and the load retries without it
JSON_WITH_A_BAD_LINE = '{"id": 1, "month": 1}\n{"id": 2,\n{"id": 3, "month": 3}\n'
CASES = {
    "csv": ("a.csv", CLEAN_CSV),
    "csv, a bad line": ("a.csv", CSV_WITH_A_BAD_LINE),
    "jsonl, a bad line": ("a.jsonl", JSON_WITH_A_BAD_LINE),
}


def _project(root: Path, name: str, data: str, warehouse: str | None, extra: str = "") -> Path:
    engine = f'engine = "postgres"\nwarehouse = "{warehouse}"\n' if warehouse else ""
    toml = (
        f'[project]\nname = "keys"\n{engine}\n'
        f'[sources.orders]\nfiles = "drops/*/{name}"\nwrite = "append"\n{extra}'
    )
    return write_project(root, {"headwater.toml": toml, f"drops/month=01/{name}": data})


def _tables(root: Path) -> set[str]:
    sql = "select table_schema || '.' || table_name from information_schema.tables"
    return {r[0] for r in query_warehouse(root, sql)}


@pytest.mark.parametrize("case", CASES)
def test_a_folder_key_that_is_a_column_is_refused_on_postgres_as_on_duckdb(
    case: str, tmp_path: Path, postgres_url: str
) -> None:
    name, data = CASES[case]
    duck = invoke("run", "-p", str(_project(tmp_path / "duck", name, data, None)))
    root = _project(tmp_path / "pg", name, data, postgres_url)
    result = invoke("run", "-p", str(root))
    assert result.exit_code == duck.exit_code == 5, result.output  # a failed step
    said = f"drops/month=01/{name}: folder key 'month' is also a column of the file"
    lines = [line for line in result.output.splitlines() if said in line]
    assert len(lines) == 1 and "hive_partitioning = false" in lines[0], result.output
    assert said in duck.output
    assert "raw.orders" not in _tables(root)  # nothing loaded
    assert query_warehouse(root, "select count(*) from _headwater.loads") == [(0,)]


def test_without_folder_keys_postgres_loads_the_file_s_own_values(
    tmp_path: Path, postgres_url: str
) -> None:
    """The check lets a load go on when it reads no folder key: the month is the file's."""
    extra = "hive_partitioning = false\n"
    root = _project(tmp_path, "a.csv", CLEAN_CSV, postgres_url, extra)
    assert invoke("run", "-p", str(root)).exit_code == 0
    rows = query_warehouse(root, "select id, month from raw.orders order by id")
    assert rows == [("1", "1"), ("2", "12")]


def test_spark_reads_a_scan_s_columns_as_its_loads_read_files(tmp_path: Path) -> None:
    """Spark's loads scan files in a DuckDB of their own: so does the check, with no
    SparkSession (the method uses none, so none is started here)."""
    data = tmp_path / "month=01/a.csv"
    data.parent.mkdir()
    data.write_text(CSV_WITH_A_BAD_LINE)
    engine = SparkEngine.__new__(SparkEngine)
    probe = f"select * from read_csv(['{data}'], all_varchar = true, ignore_errors = true)"
    assert engine.scan_columns(f"{probe} limit 0") == ["id", "month"]
    with pytest.raises(SourceError, match=r"missing\.csv") as unreadable:
        engine.scan_columns(f"select * from read_csv(['{tmp_path / 'missing.csv'}']) limit 0")
    assert len(str(unreadable.value).splitlines()) == 1
