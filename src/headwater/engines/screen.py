"""What a load's quality hooks (``LoadRequest.screen``, ``before_stage``) tell the engine
they read besides the rows they are given.

A screen (the quarantine split of a source load, :mod:`headwater.runtime.checks`) runs on
the engine's cursor over the staged rows; a release's ``before_stage`` re-validates the
quarantined rows. Their relationships checks also read other tables:
``EXISTS (SELECT 1 FROM <to> WHERE <field> = <column>)``. An engine that runs the hooks
inside the warehouse (DuckDB, PostgreSQL) has those tables at hand and ignores ``reads``.
An engine that runs them outside it (Spark, in the load's scratch DuckDB) must show each
``to`` table there, under its own ``schema.table`` name, holding at least every row whose
``field`` equals one of the screened rows' ``column`` values, with the column types the
warehouse has: the checks then pass and fail exactly the rows they would in the warehouse
(Spark shows only those rows: :mod:`headwater.engines.spark.lookups`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from headwater.project.checks import Check


@runtime_checkable
class ReadsOtherTables(Protocol):
    """A hook that names the checks it runs reading other tables (relationships checks,
    each with ``column``, ``to`` and ``field``)."""

    reads: tuple[Check, ...]


class WithReads:
    """``hook`` (a plain function) as a hook that says what it reads: ``reads``, the
    relationships checks among ``checks``."""

    def __init__(self, hook: Callable[..., Any], checks: Iterable[Check]) -> None:
        self.hook = hook
        self.reads: tuple[Check, ...] = tuple(c for c in checks if c.to)

    def __call__(self, *args: Any) -> Any:
        return self.hook(*args)


def reads_of(hook: object) -> tuple[Check, ...]:
    """The checks ``hook`` says read other tables; none for a plain function."""
    return hook.reads if isinstance(hook, ReadsOtherTables) else ()
