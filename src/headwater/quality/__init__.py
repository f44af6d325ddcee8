"""Data quality: declared checks, pushed down to the engine as SQL; severities, thresholds,
quarantine of bad source rows, and a history of results. See ``docs/checks.md``.

::

    from headwater.quality import parse_checks, run_checks, blocking

    checks = parse_checks(items, path=sidecar, text=sidecar_text, asset="marts.fct_sales")
    results = run_checks(engine.cursor(), "marts.fct_sales", "marts.fct_sales", checks)
    if blocking(results):
        raise ChecksFailed("marts.fct_sales", results)

Modules: ``spec`` (parse and validate; pure), ``compile`` (checks -> SQL; pure), ``reasons``
(their text), ``unique`` (the fast path of ``unique`` on integer keys), ``runner``
(run and judge), ``quarantine`` (split a staged load, summary), ``release`` (rows back
out of quarantine, or discarded), ``history``
(the metastore table; imported lazily since it needs SQLAlchemy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.quality.compile import check_query, fail_predicate, sample_query
from headwater.quality.quarantine import (
    QuarantineGroup,
    QuarantineLimitExceeded,
    quarantine_results,
    quarantine_summary,
    split_quarantine,
)
from headwater.quality.reasons import reason
from headwater.quality.release import Released, discard, release
from headwater.quality.runner import (
    CheckResult,
    ChecksFailed,
    blocking,
    decide,
    run_check,
    run_checks,
    summary,
)
from headwater.quality.spec import (
    CHECK_TYPES,
    ROW_LEVEL,
    TABLE_LEVEL,
    Check,
    Threshold,
    parse_checks,
    resolve_references,
    validate_columns,
)

if TYPE_CHECKING:
    from headwater.quality import history

__all__ = [
    "CHECK_TYPES",
    "ROW_LEVEL",
    "TABLE_LEVEL",
    "Check",
    "CheckResult",
    "ChecksFailed",
    "QuarantineGroup",
    "QuarantineLimitExceeded",
    "Released",
    "Threshold",
    "blocking",
    "check_query",
    "decide",
    "discard",
    "fail_predicate",
    "history",
    "parse_checks",
    "quarantine_results",
    "quarantine_summary",
    "reason",
    "release",
    "resolve_references",
    "run_check",
    "run_checks",
    "sample_query",
    "split_quarantine",
    "summary",
    "validate_columns",
]


def __getattr__(name: str) -> object:
    if name == "history":  # SQLAlchemy only when recording or reading results
        import importlib

        return importlib.import_module("headwater.quality.history")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
