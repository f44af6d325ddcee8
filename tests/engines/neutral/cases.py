"""The engine-neutral cases as data: a source's settings, what its SQLite table holds before
each run, the models built on it, and the rows (and step statuses) expected after its last
run, the same on every engine. ``needs`` names the Capabilities fields a case needs (on an
engine where one is False, its test expects the run refused before it starts).

Names: ``$t`` in a case's text is the case's own name, so that many cases share one project
(batch.py): its SQLite table and source are ``$t``, loaded to ``raw.$t`` (``table_names =
"source"``), its models are named ``$t_...``. Columns ``id, v, ts`` unless ``ddl`` says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Rows = list[tuple[Any, ...]]

SOURCE = """
[sources.$t]
connection = "src"
tables = ["$t"]
table_names = "source"
primary_key = ["id"]
"""


@dataclass(frozen=True)
class Case:
    name: str
    options: str  # the source's own settings: write disposition, cursor, checks...
    loads: list[Rows]  # the source table's whole contents before each run
    expected: dict[str, Rows]  # a query's rows after the last run (compared sorted)
    files: dict[str, str] = field(default_factory=dict)  # models and their sidecars
    ddl: str = "id integer, v text, ts text"
    statuses: dict[str, str] = field(default_factory=dict)  # steps of the last run
    needs: tuple[str, ...] = ()  # Capabilities fields the case needs
    interval: tuple[str, str] | None = None  # the last run's data interval (UTC days)

    def named(self, text: str) -> str:
        """``text`` with ``$t`` replaced by the case's name."""
        return text.replace("$t", self.name)

    def toml(self) -> str:
        """The case's ``[sources.NAME]`` table."""
        return self.named(SOURCE + self.options) + "\n"

    def project_files(self) -> dict[str, str]:
        """The case's model files (paths and texts with its names)."""
        return {self.named(path): self.named(text) for path, text in self.files.items()}

    def queries(self) -> dict[str, Rows]:
        """The expected rows by query (with its names)."""
        return {self.named(sql): rows for sql, rows in self.expected.items()}

    def last_statuses(self) -> dict[str, str]:
        return {self.named(step): status for step, status in self.statuses.items()}


FIRST = [(1, "a", "2026-01-01"), (2, "b", "2026-01-02")]
# the second load: row 1 gone from the source, row 2 changed, row 3 new
SECOND = [(2, "B", "2026-01-02"), (3, "c", "2026-01-03")]
RAW = "select id, v from raw.$t"

DISPOSITIONS = [
    Case("write_append", 'write = "append"', [FIRST, SECOND],
         {RAW: [(1, "a"), (2, "B"), (2, "b"), (3, "c")]}),
    Case("write_replace", 'write = "replace"', [FIRST, SECOND], {RAW: [(2, "B"), (3, "c")]}),
    Case("write_merge", 'write = "merge"', [FIRST, SECOND], {RAW: [(1, "a"), (2, "B"), (3, "c")]}),
    # history: the changed row's old version and the row gone from the source closed
    Case("write_scd2", 'write = "scd2"', [FIRST, SECOND],
         {"select id, v, _hw_valid_to is null from raw.$t":
          [(1, "a", False), (2, "B", True), (2, "b", False), (3, "c", True)]}),
]  # fmt: skip

LATE = [(3, "c", "2026-01-02"), (4, "d", "2026-01-03")]  # 3: at the last load's mark
CURSORS = [
    # rows at the cursor's mark are re-read, not lost; nothing is appended twice
    Case("cursor_append", 'cursor = "ts"\nwrite = "append"',
         [FIRST, FIRST + LATE, [*FIRST, *LATE, (5, "e", "2026-01-03")]],
         {"select id, count(*) from raw.$t group by id":
          [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)]}),
    # a bounded window [initial_value, end_value): only its rows
    Case("cursor_window", 'cursor = "ts"\nwrite = "merge"\n'
         'initial_value = "2026-01-03"\nend_value = "2026-01-06"',
         [[(i, "x", f"2026-01-{i:02d}") for i in range(1, 11)]],
         {"select id from raw.$t": [(3,), (4,), (5,)]}),
]  # fmt: skip

STAGING = "select id, v, cast(ts as date) as day from raw.$t"
PARTITIONED = """\
-- headwater:
--   materialized: table
--   partition_by: day
--   grain: day
select id, v, day from $t_stg
where day >= getvariable('interval_start') and day < getvariable('interval_end')
"""
MODELS = [
    # a view, a table and an incremental model (merged on its key) over two runs
    Case("materialized", 'write = "replace"', [FIRST, SECOND], {
        "select id, v, day from staging.$t_stg": [(2, "B", "2026-01-02"), (3, "c", "2026-01-03")],
        "select day, n from marts.$t_by_day": [("2026-01-02", 1), ("2026-01-03", 1)],
        "select id, v from marts.$t_latest": [(1, "a"), (2, "B"), (3, "c")],
    }, files={
        "models/staging/$t_stg.sql": STAGING,
        "models/marts/$t_by_day.sql": "select day, count(*) as n from $t_stg group by day",
        "models/marts/$t_by_day.yml": "materialized: table\n",
        "models/marts/$t_latest.sql": "select id, v from $t_stg",
        "models/marts/$t_latest.yml": "materialized: incremental\nunique_key: [id]\n",
    }),
    # the second run's interval is 2026-01-02: only that day is replaced (day 1 keeps its
    # old row, day 3 is not built)
    Case("partitioned", 'write = "replace"',
         [FIRST, [(1, "X", "2026-01-01"), *SECOND]],
         {"select id, v, day from marts.$t_part": [(1, "a", "2026-01-01"), (2, "B", "2026-01-02")]},
         files={"models/staging/$t_stg.sql": STAGING, "models/marts/$t_part.sql": PARTITIONED},
         needs=("partitioned_models",), interval=("2026-01-02", "2026-01-03")),
]  # fmt: skip

CHECKED = "select id, v from raw.$t"
NOT_NULL = "materialized: table\nchecks:\n  - type: not_null\n    column: v\n"
CHECKS = [
    # a failing check of severity error: the step fails, the previous table stays
    Case("check_error", 'write = "replace"', [FIRST, [(1, "a", None), (2, None, None)]],
         {"select id, v from marts.$t_checked": [(1, "a"), (2, "b")]},
         files={"models/marts/$t_checked.sql": CHECKED, "models/marts/$t_checked.yml": NOT_NULL},
         statuses={"marts.$t_checked": "check_failed"}),
    # severity warn: the step succeeds and the new table is published
    Case("check_warn", 'write = "replace"', [FIRST, [(1, "a", None), (2, None, None)]],
         {"select id, v from marts.$t_checked": [(1, "a"), (2, None)]},
         files={"models/marts/$t_checked.sql": CHECKED,
                "models/marts/$t_checked.yml": NOT_NULL + "    severity: warn\n"},
         statuses={"marts.$t_checked": "success"}),
]  # fmt: skip

QUARANTINE_CHECKS = """
[[sources.$t.checks]]
type = "range"
column = "qty"
min = 1
on_fail = "quarantine"

[[sources.$t.checks]]
type = "accepted_values"
column = "status"
values = ["new", "paid"]
on_fail = "quarantine"
"""
QUARANTINE = [
    # bad rows leave the raw table for quarantine.$t with the checks they failed
    Case("quarantine", 'write = "merge"' + QUARANTINE_CHECKS,
         [[(1, 2, "new"), (2, -1, "new"), (3, 5, "lost"), (4, 0, "weird"), (5, 3, "paid")]],
         {"select id, qty from raw.$t": [(1, 2), (5, 3)],
          "select id, _hw_check from quarantine.$t": [
              (2, "range_qty"), (3, "accepted_values_status"),
              (4, "range_qty,accepted_values_status")]},
         ddl="id integer, qty integer, status text", statuses={"raw.$t": "success"},
         needs=("quarantine",)),
]  # fmt: skip

CASES = DISPOSITIONS + CURSORS + MODELS + CHECKS + QUARANTINE
