"""File sources never change data silently: a glob matching nothing, folder keys that are
also file columns, empty files and over-long lines are each named on one line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import invoke
from headwater.testing.cli import query_warehouse as table

MODEL = {"models/staging/stg_orders.sql": "select id from raw.orders\n"}


def _toml(files: str, extra: str = "") -> str:
    return f'[sources.orders]\nfiles = "{files}"\nwrite = "append"\n{extra}'


def _step(root: Path, name: str = "raw.orders"):  # type: ignore[no-untyped-def]
    return run(load_project(root)).steps[name]


def _tables(root: Path) -> set[str]:
    return {r[0] for r in table(root, "select table_name from information_schema.tables")}


def test_a_glob_that_matches_nothing_fails_naming_glob_and_folder(project_dir):
    root = project_dir({"headwater.toml": _toml("drops/*/orders.csv"), **MODEL})
    (root / "drops").mkdir()
    assert invoke("run", "-p", str(root)).exit_code == 5  # the run had a failed step
    result = run(load_project(root))
    step = result.steps["raw.orders"]
    assert step.status == "failed"
    error = step.error or ""
    assert "'drops/*/orders.csv' match no file in " + str(root / "drops") in error
    assert "allow_empty" in error and len(error.splitlines()) == 1
    # the model downstream is not run against a missing table
    assert "does not exist" not in (result.steps["staging.stg_orders"].error or "")


def test_a_missing_folder_is_named(project_dir):
    root = project_dir({"headwater.toml": _toml("dropz/*.csv")})
    error = _step(root).error or ""
    assert f"in {root / 'dropz'} (no such folder)" in error


def test_allow_empty_creates_the_declared_table_and_downstream_runs(project_dir):
    extra = 'allow_empty = true\n[sources.orders.column_types]\nid = "BIGINT"\n'
    root = project_dir({"headwater.toml": _toml("drops/*/orders.csv", extra), **MODEL})
    result = run(load_project(root))
    assert result.steps["raw.orders"].status == "success", result.steps["raw.orders"].error
    assert result.steps["staging.stg_orders"].status == "success"
    cols = table(
        root,
        "select column_name, data_type from information_schema.columns "
        "where table_name = 'orders' and column_name in ('id', '_hw_file')",
    )
    assert sorted(cols) == [("_hw_file", "VARCHAR"), ("id", "BIGINT")]
    # the first drop arrives: its rows load into that table, new columns added
    (root / "drops/d1").mkdir(parents=True)
    (root / "drops/d1/orders.csv").write_text("id,status\n1,new\n")
    assert _step(root).result["rows_out"] == 1
    assert table(root, "select id, status from raw.orders") == [(1, "new")]


def test_no_new_file_is_quiet_but_no_file_at_all_fails(project_dir):
    """An incremental rerun finds its files already loaded: success, nothing read. Once the
    glob matches nothing (the drops folder moved away), the step says so."""
    root = project_dir(
        {"headwater.toml": _toml("drops/*/orders.csv"), "drops/d1/orders.csv": "id\n1\n"}
    )
    assert _step(root).status == "success"
    again = _step(root)
    assert again.status == "success" and again.result["rows_out"] == 0
    (root / "drops").rename(root / "archive")
    gone = _step(root)
    assert gone.status == "failed" and "match no file" in (gone.error or "")


@pytest.mark.parametrize(
    ("fmt", "name", "write"),
    [
        ("csv", "a.csv", lambda p: p.write_text("id,month\n1,1\n")),
        ("jsonl", "a.jsonl", lambda p: p.write_text('{"id": 1, "month": 1}\n')),
        ("parquet", "a.parquet", lambda p: pq.write_table(pa.table({"id": [1], "month": [1]}), p)),
    ],
)
def test_a_folder_key_never_replaces_a_file_column(project_dir, fmt, name, write):
    root = project_dir({"headwater.toml": _toml(f"drops/*/{name}")})
    (root / "drops/month=01").mkdir(parents=True)
    write(root / "drops/month=01" / name)
    step = _step(root)
    assert step.status == "failed"
    assert f"drops/month=01/{name}: folder key 'month' is also a column" in (step.error or "")
    assert "hive_partitioning = false" in (step.error or "")
    assert "orders" not in _tables(root)


def test_hive_partitioning_false_keeps_folder_keys_out(project_dir):
    root = project_dir(
        {
            "headwater.toml": _toml("drops/*/a.csv", "hive_partitioning = false\n"),
            "drops/month=01/a.csv": "id,month\n1,1\n",
        }
    )
    assert _step(root).status == "success"
    assert table(root, "select id, month from raw.orders") == [("1", "1")]


def test_hive_partitioning_false_for_parquet(project_dir, engine):
    root = project_dir(
        {"headwater.toml": _toml("drops/*/a.parquet", "hive_partitioning = false\n")}
    )
    (root / "drops/day=2026-01-01").mkdir(parents=True)
    target = root / "drops/day=2026-01-01/a.parquet"
    engine.execute(f"copy (select 1 as id) to '{target}' (format parquet)")
    assert _step(root).status == "success"
    cols = table(
        root, "select column_name from information_schema.columns where table_name = 'orders'"
    )
    assert "day" not in {c[0] for c in cols}


def test_an_empty_csv_is_skipped_and_named(project_dir, caplog):
    root = project_dir(
        {
            "headwater.toml": _toml("drops/*/orders.csv"),
            "drops/d1/orders.csv": "",
            "drops/d2/orders.csv": "id,status\n1,new\n",
        }
    )
    step = _step(root)
    assert step.status == "success", step.error
    # the header of the next file is read as a header, not as a row
    assert table(root, "select id, status from raw.orders") == [("1", "new")]
    logs = [p.read_text() for p in (root / ".headwater/logs").rglob("*.log")]
    warned = [line for text in logs for line in text.splitlines() if "empty file" in line]
    assert warned and "drops/d1/orders.csv: empty file" in warned[0]


def test_only_empty_csv_files_fail_like_no_file(project_dir):
    root = project_dir({"headwater.toml": _toml("drops/*/orders.csv"), "drops/d1/orders.csv": ""})
    error = _step(root).error or ""
    assert "match only empty files (drops/d1/orders.csv)" in error


def test_an_over_long_line_is_named_with_its_file_line_and_setting(project_dir):
    root = project_dir({"headwater.toml": _toml("drops/*/orders.csv.gz")})
    (root / "drops/d1").mkdir(parents=True)
    field = "x" * 3_000_000
    with gzip.open(root / "drops/d1/orders.csv.gz", "wt") as fh:
        fh.write(f"id,note\n1,a\n2,b\n3,{field}\n4,d\n")
    error = _step(root).error or ""
    assert "drops/d1/orders.csv.gz:4: the line is 3,000,002 bytes" in error
    assert "maximum line size of 2,000,000 bytes; raise max_line_size" in error
    assert len(error.splitlines()) == 1 and "xxxx" not in error


def test_max_line_size_lets_the_long_line_load(project_dir):
    root = project_dir({"headwater.toml": _toml("drops/*/orders.csv", "max_line_size = 4000000\n")})
    (root / "drops/d1").mkdir(parents=True)
    (root / "drops/d1/orders.csv").write_text(f"id,note\n1,{'y' * 3_000_000}\n2,b\n")
    step = _step(root)
    assert step.status == "success", step.error
    assert table(root, "select id, length(note) from raw.orders order by id") == [
        ("1", 3_000_000),
        ("2", 1),
    ]


def test_a_json_file_with_a_bad_line_keeps_its_folder_key(project_dir):
    """The good lines of a file with malformed ones are read from a copy: it keeps the
    file's day=... folder, so its rows get the same folder column as the others."""
    root = project_dir(
        {
            "headwater.toml": _toml("drops/*/e.jsonl"),
            "drops/day=2026-01-01/e.jsonl": '{"id": 1}\nnot json\n{"id": 3}\n',
            "drops/day=2026-01-02/e.jsonl": '{"id": 4}\n',
        }
    )
    step = _step(root)
    assert step.status == "success", step.error
    assert table(root, 'select id, "day"::varchar from raw.orders order by id') == [
        (1, "2026-01-01"),
        (3, "2026-01-01"),
        (4, "2026-01-02"),
    ]
