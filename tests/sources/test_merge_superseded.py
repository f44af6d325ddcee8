"""Several rows of one key in one merge load: the latest wins (by cursor, then read order),
so one load of two files gives the table two loads of them would; every row that loses is
counted as superseded, in the step's log, the run summary and ``headwater loads``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from load_report import loads_rows, run_and_look

from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import query_warehouse

CSV = """
[sources.orders]
files = "drops/*/orders.csv"
primary_key = ["id"]
write = "merge"
{extra}
"""

KEYS = range(1, 201)  # many keys: an arbitrary pick per key would not match by chance


def _day(root: Path, day: str, text: str) -> None:
    folder = root / "drops" / f"day={day}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "orders.csv").write_text(text)


def _load(root: Path, asset: str = "raw.orders") -> dict:
    step = run(load_project(root)).steps[asset]
    assert step.status == "success", step.error
    return step.result


def _orders(root: Path) -> list[tuple]:
    """Every row: its values and the file it came from (load metadata left out)."""
    columns = ", ".join(c for c in ("id", "status", '"at"', "_hw_file") if _has(root, c))
    return query_warehouse(root, f"select {columns} from raw.orders order by id::int")


def _has(root: Path, column: str) -> bool:
    sql = "select count(*) from information_schema.columns where table_name = 'orders' and column_name = ?"
    return query_warehouse(root, sql, [column.strip('"')]) == [(1,)]


def _csv_files_one_run_and_two_runs(project_dir, extra: str, days: dict[str, str]):
    """The table after loading ``days`` (day -> CSV text) in one run, and in one run each
    (in day order); and the results of those loads."""
    one = project_dir({"headwater.toml": CSV.format(extra=extra)}, name="one")
    for day, text in days.items():
        _day(one, day, text)
    together = _load(one)
    two = project_dir({"headwater.toml": CSV.format(extra=extra)}, name="two")
    apart = []
    for day, text in days.items():
        _day(two, day, text)
        apart.append(_load(two))
    return _orders(one), _orders(two), together, apart


def test_the_later_file_wins_in_one_run_as_in_two(project_dir):
    first = "id,status\n" + "".join(f"{k},new\n" for k in KEYS)
    # the second day changes every key, and key 1 twice: its last line wins
    second = "id,status\n1,paid\n" + "".join(f"{k},shipped\n" for k in KEYS)
    table_one, table_two, together, apart = _csv_files_one_run_and_two_runs(
        project_dir, "", {"2026-01-01": first, "2026-01-02": second}
    )
    assert table_one == table_two
    assert len(table_one) == len(KEYS)
    assert {row[1:] for row in table_one} == {("shipped", "drops/day=2026-01-02/orders.csv")}
    # one run: the first day's 200 rows and the second day's "1,paid" lose
    assert (together["rows_in"], together["rows_out"], together["rows_superseded"]) == (
        401,
        200,
        201,
    )
    assert [r["rows_superseded"] for r in apart] == [0, 1]


def test_the_cursor_decides_and_equal_cursors_go_to_the_later_read(project_dir):
    first = "id,status,at\n1,a,2026-01-02\n2,x,2026-01-03\n3,old,2026-01-01\n"
    # id 1: same cursor, read later: wins; id 2: older, loses; id 3: newer, wins
    second = "id,status,at\n1,b,2026-01-02\n2,y,2026-01-01\n3,new,2026-01-02\n"
    table_one, table_two, together, apart = _csv_files_one_run_and_two_runs(
        project_dir, 'cursor = "at"', {"2026-01-01": first, "2026-01-02": second}
    )
    assert table_one == table_two
    assert [row[:3] for row in table_one] == [
        ("1", "b", "2026-01-02"),
        ("2", "x", "2026-01-03"),
        ("3", "new", "2026-01-02"),
    ]
    assert together["rows_superseded"] == 3  # a, y and old
    # two runs: y loses to the stored x; a and old were written, then overwritten
    assert [r["rows_superseded"] for r in apart] == [0, 1]


def test_superseded_rows_are_in_the_log_the_summary_and_loads(project_dir):
    root = project_dir({"headwater.toml": CSV.format(extra="")})
    _day(root, "2026-01-01", "id,status\n1,new\n2,new\n1,paid\n2,paid\n1,shipped\n")
    seen = run_and_look(root, "raw.orders")
    assert "5 rows read, 2 written, 3 superseded by a newer row of their key" in seen.log
    assert "superseded=3" in seen.summary
    assert "3 rows superseded by a newer row of their key" in seen.summary
    (load,) = loads_rows(seen.loads)
    assert (load["rows read"], load["rows written"], load["rows superseded"]) == ("5", "2", "3")
    # superseded rows are no errors: nothing is recorded as rejected
    assert load["rows rejected"] == "0"
    assert query_warehouse(root, "select count(*) from _headwater.rejected_rows") == [(0,)]
    assert query_warehouse(root, "select id, status from raw.orders order by id") == [
        ("1", "shipped"),
        ("2", "paid"),
    ]


SQLITE = """
[connections.db]
url = "sqlite:///src.sqlite"

[sources.db]
connection = "db"
tables = ["t"]
primary_key = ["id"]
write = "merge"
{extra}
"""


def _sqlite(project_dir, name: str, extra: str) -> tuple[Path, sqlite3.Connection]:
    root = project_dir({"headwater.toml": SQLITE.format(extra=extra)}, name=name)
    con = sqlite3.connect(root / "src.sqlite")
    con.execute("create table t (id integer, v text, at text)")  # no key: ids may repeat
    return root, con


def _insert(con: sqlite3.Connection, rows: list[tuple]) -> None:
    con.executemany("insert into t values (?, ?, ?)", rows)
    con.commit()


def test_sqlite_cursor_source_one_run_and_two_runs_agree(project_dir):
    old = [(k, f"v{k}", "2026-01-01") for k in KEYS]
    new = [(k, f"w{k}", "2026-01-02") for k in KEYS if k % 2]
    one, con = _sqlite(project_dir, "one", 'cursor = "at"')
    _insert(con, new + old)  # the newer rows first: the cursor decides, not the order
    together = _load(one, "raw.db_t")
    two, con2 = _sqlite(project_dir, "two", 'cursor = "at"')
    _insert(con2, old)
    _load(two, "raw.db_t")
    _insert(con2, new)
    again = _load(two, "raw.db_t")
    sql = 'select id, v, "at" from raw.db_t order by id'
    assert query_warehouse(one, sql) == query_warehouse(two, sql)
    assert query_warehouse(one, "select v from raw.db_t where id = 1") == [("w1",)]
    assert together["rows_superseded"] == len(new)
    # the second run re-reads the rows at the old mark (inclusive window): the old versions
    # of the changed keys lose to the new rows in that load
    assert again["rows_superseded"] == len(new)


def test_sqlite_full_extract_keeps_the_row_read_last(project_dir):
    root, con = _sqlite(project_dir, "full", "")
    _insert(con, [(k, "first", None) for k in KEYS] + [(k, "last", None) for k in KEYS])
    result = _load(root, "raw.db_t")
    assert query_warehouse(root, "select distinct v from raw.db_t") == [("last",)]
    assert (result["rows_in"], result["rows_out"], result["rows_superseded"]) == (400, 200, 200)


def test_scd2_makes_the_latest_row_of_a_load_the_current_version(project_dir):
    toml = CSV.format(extra="").replace('write = "merge"', 'write = "scd2"')
    root = project_dir({"headwater.toml": toml})
    _day(root, "2026-01-01", "id,status\n" + "".join(f"{k},new\n" for k in KEYS))
    _day(root, "2026-01-02", "id,status\n" + "".join(f"{k},paid\n" for k in KEYS))
    result = _load(root)
    current = "select distinct status from raw.orders where _hw_valid_to is null"
    assert query_warehouse(root, current) == [("paid",)]
    assert query_warehouse(root, "select count(*) from raw.orders") == [(len(KEYS),)]
    assert result["rows_superseded"] == len(KEYS)
