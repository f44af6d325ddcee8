"""Zero dates: a table is read without the zero-date guard (cheaper for the server) until
it shows one; the load then reads it again with the guard, and the asset's state keeps the
hint, so that later loads read it with the guard at once."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from test_mysql_helpers import execute, project_toml, warehouse, write_and_run

from headwater.project import load_project
from headwater.testing.servers import mariadb_available

pytestmark = pytest.mark.skipif(not mariadb_available(), reason="MariaDB is not installed")

AGAIN = "reading again with zero_dates"


def _state(root: Path, asset: str) -> dict[str, object]:
    rows = warehouse(root, f"select state from _headwater.state where asset = '{asset}'")
    return json.loads(rows[0][0]) if rows else {}


def _load(root: Path, step: str, toml: str | None = None) -> str:
    """Run the project (writing ``toml`` first, if given); the step must succeed. Its log."""
    result = write_and_run(root, toml)
    assert result.steps[step].status == "success", result.steps[step].error
    path = load_project(root).logs_dir / result.run_id / f"{step}.log"
    return path.read_text() if path.exists() else ""


def test_a_table_with_zero_dates_is_read_again_with_the_guard_and_remembers(
    mariadb_url: str, tmp_path: Path
) -> None:
    execute(
        mariadb_url,
        "create table legacy (id int primary key, d date, dt datetime)",
        "insert into legacy select seq, '2024-01-01' + interval seq day, "
        "'2024-01-01 10:00:00' + interval seq minute from seq_1_to_3000",
        "update legacy set d = '0000-00-00' where id = 2500",
        "update legacy set dt = '2024-05-00 01:02:03' where id = 2600",
    )
    root = tmp_path / "proj"
    toml = project_toml(mariadb_url, 'tables = ["legacy"]\nwrite = "replace"')
    log = _load(root, "raw.my_legacy", toml)
    assert AGAIN in log and "a zero date after row" in log
    # nothing of the failed read stayed: every row once, the zero dates as NULL
    assert warehouse(
        root,
        "select count(*), count(distinct id), count(d), count(dt), "
        "min(d), max(dt) from raw.my_legacy",
    ) == [(3000, 3000, 2999, 2999, date(2024, 1, 2), datetime(2024, 1, 3, 12, 0))]
    assert warehouse(root, "select id from raw.my_legacy where d is null or dt is null") in (
        [(2500,), (2600,)],
        [(2600,), (2500,)],
    )
    assert _state(root, "raw.my_legacy")["read_hints"] == ["zero_dates"]

    # the hint from the state: guarded from the start
    assert AGAIN not in _load(root, "raw.my_legacy")
    assert warehouse(root, "select count(*), count(d), count(dt) from raw.my_legacy") == [
        (3000, 2999, 2999)
    ]
    assert _state(root, "raw.my_legacy")["read_hints"] == ["zero_dates"]


def test_a_table_without_zero_dates_is_read_once_without_a_hint(
    mariadb_url: str, tmp_path: Path
) -> None:
    execute(
        mariadb_url,
        "create table clean (id int primary key, d date, dt datetime)",
        "insert into clean select seq, '2024-01-01' + interval seq day, "
        "'2024-01-01 10:00:00' + interval seq minute from seq_1_to_500",
    )
    root = tmp_path / "proj"
    assert AGAIN not in _load(root, "raw.my_clean", project_toml(mariadb_url, 'tables = ["clean"]'))
    assert "read_hints" not in _state(root, "raw.my_clean")
    assert warehouse(root, "select count(*), count(d), min(d) from raw.my_clean") == [
        (500, 500, date(2024, 1, 2))
    ]


def test_the_hint_lives_beside_the_cursor_of_an_incremental_source(
    mariadb_url: str, tmp_path: Path
) -> None:
    """An appending source keeps both its cursor and the hint: the next window is read with
    the guard at once, and only its new rows are loaded."""
    execute(
        mariadb_url,
        "create table events (id int primary key, d date)",
        "insert into events select seq, '2024-01-01' + interval seq day from seq_1_to_100",
        "update events set d = '0000-00-00' where id = 40",
    )
    root = tmp_path / "proj"
    toml = project_toml(mariadb_url, 'tables = ["events"]\nwrite = "append"\ncursor = "id"')
    assert AGAIN in _load(root, "raw.my_events", toml)
    state = _state(root, "raw.my_events")
    assert state["read_hints"] == ["zero_dates"] and state["cursor"] == "100"

    execute(mariadb_url, "insert into events values (101, '0000-00-00'), (102, '2025-01-01')")
    assert AGAIN not in _load(root, "raw.my_events")
    assert warehouse(root, "select count(*), count(distinct id), count(d) from raw.my_events") == [
        (102, 102, 100)
    ]
    state = _state(root, "raw.my_events")
    assert state["read_hints"] == ["zero_dates"] and state["cursor"] == "102"
