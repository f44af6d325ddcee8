"""What a load's ``screen`` hook (``LoadRequest.screen``) tells the engine it reads.

A screen (the quarantine split of a source load, :mod:`headwater.runtime.checks`) runs on
the engine's cursor over the staged rows, and its relationships checks also read other
tables: ``EXISTS (SELECT 1 FROM <to> WHERE <field> = <column>)``. An engine that screens
inside the warehouse (DuckDB, PostgreSQL) has those tables at hand and ignores ``reads``.
An engine that screens outside it (Spark screens in the load's scratch DuckDB) must show
each ``to`` table there, under its own ``schema.table`` name, holding at least every row
whose ``field`` equals one of the staged rows' ``column`` values, with the column types
the warehouse has: the checks then pass and fail exactly the rows they would in the
warehouse (Spark shows only those rows: :mod:`headwater.engines.spark.lookups`).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from headwater.project.checks import Check


@runtime_checkable
class Screen(Protocol):
    """A screen hook that names the checks reading other tables (relationships checks,
    each with ``column``, ``to`` and ``field``); called as ``screen(cursor, staged)``."""

    reads: tuple[Check, ...]

    def __call__(self, cur: Any, staged: str) -> Any: ...


def reads_of(screen: object) -> tuple[Check, ...]:
    """The checks ``screen`` says read other tables; none for a plain function."""
    return screen.reads if isinstance(screen, Screen) else ()
