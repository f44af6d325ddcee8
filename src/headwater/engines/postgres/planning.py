"""How the warehouse's writes are planned: statistics on what they write, and no nested
loops while they build and check.

**Statistics.** A load or a table model writes its rows and publishes them at once; the
autovacuum's ``ANALYZE`` comes later (after 10% of a table's rows changed, seconds to
minutes after the commit), so the checks that run before the commit and the models built
next in the run would be planned on a table PostgreSQL believes empty or as it was. Each
write therefore runs :func:`analyze` on its table inside its own transaction: its column
statistics commit, or roll back, with the rows (the row count in ``pg_class`` is written
at once, and the planner scales it to the table's actual size). It reads a sample of at
most 30,000 rows, whatever the table's size.

**Nested loops.** :func:`plan_writes` turns them off for the rest of the write's
transaction (``SET LOCAL``). A model's SQL and the checks on it read staging views whose
"latest version" filter (``row_number() over (...) = 1``) PostgreSQL cannot estimate,
with or without statistics: it takes 0.5% of the rows, and two such filters joined give
an estimate of one row. On one row it prefers a nested loop, and the warehouse's tables
have no indexes, so the loop compares every row with every row: the store demo at scale
10 (480,000 order items joined with 190,000 orders) did not finish in 300 s. A hash or
merge join costs time in proportion to the rows whatever the estimate. The setting is a
cost, not a ban: a join with no equality to hash or sort on still runs as a nested loop.
"""

from __future__ import annotations

from headwater.engines.postgres.connection import PgCursor


def plan_writes(cur: PgCursor) -> None:
    """No nested loops until the current transaction ends (see the module)."""
    cur.execute("set local enable_nestloop = off")


def analyze(cur: PgCursor, relation: str) -> None:
    """Fresh planner statistics of ``relation`` (a quoted, qualified name) in the current
    transaction, before the checks read it and before it is published."""
    cur.execute(f"analyze {relation}")
