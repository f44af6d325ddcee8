"""Whole rows written in one statement on PostgreSQL: ``INSERT ... SELECT * FROM
unnest(array, ...) ON CONFLICT (key) DO UPDATE``.

The runtime records a run's step events in batches of up to thousands of rows
(:meth:`~headwater.metastore.step_history.StepHistory.replace_steps`). On SQLite a DELETE
and an INSERT per row in one transaction cost microseconds each. On PostgreSQL the driver
(psycopg 3) sends each row of an ``executemany`` as a statement of its own (pipelined,
still parsed, planned and executed once per row): about 0.4 ms a row, which held a
PostgreSQL metastore to about 2,400 step state changes per second. Here a batch is one
statement whatever its size: each column travels as one array parameter, ``unnest`` turns
the arrays back into rows, and ``ON CONFLICT`` replaces a row already there (every column
is given, so the row ends exactly as a delete and insert would leave it).

PostgreSQL refuses to update one row twice in one statement: the rows of a batch must have
distinct keys (``replace_steps`` keeps the later of two).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

__all__ = ["postgres_upsert", "upsert_params"]


@functools.cache
def postgres_upsert(table: sa.Table) -> sa.Insert:
    """The statement writing whole rows of ``table`` from one array parameter per column
    (``a_<column>``), replacing the rows whose primary key is already there. Built once
    per table (building it costs more than running it)."""
    from sqlalchemy.dialects import postgresql  # only a PostgreSQL metastore pays it

    cols = list(table.columns)
    arrays = [sa.bindparam(f"a_{c.name}", type_=postgresql.ARRAY(c.type)) for c in cols]
    rows = sa.select(sa.text("*")).select_from(sa.func.unnest(*arrays).alias("u"))
    insert = postgresql.insert(table).from_select([c.name for c in cols], rows)
    keys = [c.name for c in table.primary_key.columns]
    return insert.on_conflict_do_update(
        index_elements=keys,
        set_={c.name: insert.excluded[c.name] for c in cols if c.name not in keys},
    )


def upsert_params(table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The parameters of :func:`postgres_upsert` for ``rows`` (each gives every column, no
    two the same primary key)."""
    return {f"a_{c.name}": [row[c.name] for row in rows] for c in table.columns}
