"""How the warehouse's queries are planned: statistics on what each write wrote, and no
nested loops.

**Statistics.** A load or a table model writes its rows and publishes them at once; the
autovacuum's ``ANALYZE`` comes later (after 10% of a table's rows changed, seconds to
minutes after the commit), so the checks that run before the commit and the models built
next in the run would be planned on a table PostgreSQL believes empty or as it was. Each
write therefore runs :func:`analyze` on its table inside its own transaction: its column
statistics commit, or roll back, with the rows (the row count in ``pg_class`` is written
at once, and the planner scales it to the table's actual size). It reads a sample of at
most 30,000 rows, whatever the table's size.

**Nested loops.** :data:`SESSION` turns them off on every connection Headwater opens to
the warehouse. A model's SQL and the checks on it read staging views whose "latest
version" filter (``row_number() over (...) = 1``) PostgreSQL cannot estimate, with or
without statistics: it takes 0.5% of the rows, and two such filters joined give an
estimate of one row. On one row it prefers a nested loop, and the warehouse's tables have
no indexes (Headwater makes none, and a build replaces its table), so the loop compares
every row with every row: the store demo at scale 10 (480,000 order items joined with
190,000 orders) did not finish in 300 s. A hash or merge join costs time in proportion to
the rows whatever the estimate. The same holds for ``headwater check`` outside a build, the
server's reads and ``headwater query``: so it is the connection's setting, not a build's.
It is a cost, not a ban: a join with no equality to hash or sort on still runs as a
nested loop. Other clients of the database keep the server's settings.
"""

from __future__ import annotations

from headwater.engines.postgres.connection import PgCursor

SESSION = "set enable_nestloop = off"
"""Run on each new warehouse connection (see the module)."""


def analyze(cur: PgCursor, relation: str) -> None:
    """Fresh planner statistics of ``relation`` (a quoted, qualified name) in the current
    transaction, before the checks read it and before it is published."""
    cur.execute(f"analyze {relation}")
