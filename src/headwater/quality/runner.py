"""Run checks against a relation in the warehouse and judge them with their thresholds.

Each check is one query (see :mod:`headwater.quality.compile`) on the caller's cursor, plus,
when rows fail, one early-stopping query for a sample; ``unique`` on integer keys takes a
faster path of its own (:mod:`headwater.quality.unique`). Only counts and a bounded JSON
sample come back to Python. A check whose query fails (a missing column, a bad cast) gets
status ``error`` and the others still run.

Call :func:`run_checks` outside an explicit transaction: in DuckDB a failed statement aborts
the surrounding transaction, which would turn every later check into an error.

Statuses: ``pass``; ``warn`` (reported, does not stop anything); ``fail`` (the data is wrong:
downstream steps must not run); ``error`` (the check itself broke: blocking when its
severity is ``error``, since the data could not be verified).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from headwater.engines import errors
from headwater.engines.base import Cursor
from headwater.errors import CheckFailed
from headwater.quality.compile import SAMPLE_LIMIT, Types, check_query, relation_sql, sample_query
from headwater.quality.reasons import reason
from headwater.quality.spec import TABLE_LEVEL, Check
from headwater.quality.unique import measure_unique

Status = Literal["pass", "warn", "fail", "error"]
STATUSES: tuple[str, ...] = ("pass", "warn", "fail", "error")
SAMPLE_MAX_CHARS = 4000
"""Bound of a result's sample, serialised as JSON (rows are dropped, long strings cut)."""
_VALUE_MAX_CHARS = 200

History = Callable[[str], Sequence[int]]
"""``history(asset)``: row counts of the asset's recent successful runs, newest first."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one asset."""

    check: str  # the check's name
    asset: str
    type: str
    severity: str
    status: Status
    failing: int  # failing rows (table-level checks: 1 when violated, else 0)
    total: int | None  # rows in the relation (None when unknown)
    sample: tuple[dict[str, Any], ...]  # a few failing rows (bounded, see SAMPLE_MAX_CHARS)
    message: str
    duration: float  # seconds
    quarantined: bool = False  # the failing rows were moved to quarantine

    @property
    def blocking(self) -> bool:
        return self.status == "fail" or (self.status == "error" and self.severity == "error")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (for a step's result, the API and the UI)."""
        out = asdict(self)
        out["sample"] = list(self.sample)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(**{**data, "sample": tuple(data.get("sample") or ())})


class ChecksFailed(CheckFailed):
    """Blocking check results on an asset: the step ends ``check_failed``, its downstream
    steps ``blocked_by_check``, and it is not retried (a failing check fails again)."""

    def __init__(self, asset: str, results: Sequence[CheckResult]) -> None:
        self.asset = asset
        self.results = tuple(results)
        super().__init__(summary(asset, results))


def blocking(results: Sequence[CheckResult]) -> bool:
    """Whether downstream steps must stop (any ``fail``, or an ``error`` of severity error)."""
    return any(r.blocking for r in results)


def summary(asset: str, results: Sequence[CheckResult]) -> str:
    """One line naming the blocking checks (or the counts when none blocks)."""
    bad = [r for r in results if r.blocking]
    if not bad:
        counts = {s: sum(1 for r in results if r.status == s) for s in STATUSES}
        return f"{asset}: " + (", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no checks")
    parts = [f"{r.check} ({r.status}: {r.message})" for r in bad]
    noun = "check" if len(bad) == 1 else "checks"
    return f"{asset}: {len(bad)} {noun} failed: " + "; ".join(parts)


def decide(check: Check, failing: int, total: int | None, *, quarantined: bool = False) -> Status:
    """The status of ``failing`` rows of ``total`` under the check's severity and thresholds.

    Without thresholds any failing row gives the severity (``error`` -> ``fail``); rows that
    were quarantined give ``warn`` (the table stays clean). With thresholds only the given
    ones apply: ``error_if`` -> ``fail``, else ``warn_if`` -> ``warn``, else ``pass``.

    >>> from headwater.quality.spec import Check, Threshold
    >>> c = Check("not_null", "n", column="a", error_if=Threshold.parse("> 100"))
    >>> decide(c, 100, 1000), decide(c, 101, 1000)
    ('pass', 'fail')
    >>> decide(Check("not_null", "n", column="a", severity="warn"), 3, 10)
    'warn'
    """
    if check.type in TABLE_LEVEL or (check.error_if is None and check.warn_if is None):
        if failing == 0:
            return "pass"
        if quarantined or check.severity == "warn":
            return "warn"
        return "fail"
    if check.error_if is not None and check.error_if.holds(failing, total):
        return "fail"
    if check.warn_if is not None and check.warn_if.holds(failing, total):
        return "warn"
    return "pass"


def run_checks(
    cur: Cursor,
    asset_name: str,
    relation: str,
    checks: Sequence[Check],
    *,
    history: History | None = None,
    sample_limit: int = SAMPLE_LIMIT,
) -> list[CheckResult]:
    """Run ``checks`` on ``relation`` (``schema.table``, a temp table, or quoted SQL name).

    ``history`` feeds ``row_count_anomaly`` checks. An interrupted statement (a step timeout)
    is re-raised; any other engine error becomes a result with status ``error``.
    """
    typed = any(c.type in ("range", "accepted_values") for c in checks)
    types = column_types(cur, relation) if typed else None
    return [
        run_check(
            cur, asset_name, relation, c, history=history, sample_limit=sample_limit, types=types
        )
        for c in checks
    ]


def column_types(cur: Cursor, relation: str) -> Types | None:
    """The relation's column types (lower-case names), or None when it cannot be described
    (each check then reports the problem itself)."""
    try:
        rows = cur.execute(f"DESCRIBE SELECT * FROM {relation_sql(relation)}").fetchall()
    except errors.interrupted():
        raise
    except errors.query_error():
        return None
    return {str(name).lower(): str(typ) for name, typ, *_ in rows}


def run_check(
    cur: Cursor,
    asset_name: str,
    relation: str,
    check: Check,
    *,
    history: History | None = None,
    sample_limit: int = SAMPLE_LIMIT,
    types: Types | None = None,
) -> CheckResult:
    """Run one check; see :func:`run_checks` (``types``: see
    :func:`~headwater.quality.compile.fail_predicate`)."""
    started = time.perf_counter()

    def result(
        status: Status,
        failing: int,
        total: int | None,
        sample: tuple[dict[str, Any], ...],
        message: str,
    ) -> CheckResult:
        return CheckResult(
            check=check.name,
            asset=asset_name,
            type=check.type,
            severity=check.severity,
            status=status,
            failing=failing,
            total=total,
            sample=sample,
            message=message,
            duration=time.perf_counter() - started,
        )

    try:
        failing, total, sample_json = measure(cur, check, relation, sample_limit, types)
        sample = bounded_sample(sample_json)
        if check.type == "row_count_anomaly":
            past = list(history(asset_name)) if history is not None else []
            failing, message, detail = anomaly(check, total, past)
            sample = (detail,)
        else:
            message = describe(check, failing, total, sample)
    except errors.interrupted():
        raise
    except errors.query_error() as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return result("error", 0, None, (), f"the check could not run: {first}")
    except Exception as exc:  # the history callable broke: report it, keep going
        return result("error", 0, None, (), f"the check could not run: {type(exc).__name__}: {exc}")
    return result(decide(check, failing, total), failing, total, sample, message)


def measure(
    cur: Cursor,
    check: Check,
    relation: str,
    sample_limit: int = SAMPLE_LIMIT,
    types: Types | None = None,
) -> tuple[int, int, str | None]:
    """``(failing, total, sample JSON)`` of one check, from the engine."""
    if check.type == "unique":
        fast = measure_unique(cur, check, relation, sample_limit)
        if fast is not None:
            return fast
    query = check_query(check, relation, sample_limit=sample_limit, types=types)
    row = cur.execute(query).fetchone()
    assert row is not None
    failing, total, sample_json = int(row[0] or 0), int(row[1] or 0), row[2]
    extra = sample_query(check, relation, sample_limit=sample_limit, types=types)
    if failing and extra is not None:  # a second, early-stopping query, only when rows fail
        params = [row[3]] if check.type == "relationships" else None
        found = cur.execute(extra, params).fetchone()
        sample_json = found[0] if found else None
    return failing, total, sample_json


def describe(check: Check, failing: int, total: int, sample: Sequence[dict[str, Any]]) -> str:
    """The result's message.

    >>> from headwater.quality.spec import Check
    >>> describe(Check("not_null", "n", column="email"), 3, 1000, [])
    '3 of 1,000 rows (0.3%): email is null'
    >>> describe(Check("row_count", "r", min=10), 1, 4, [])
    '4 rows; expected at least 10'
    """
    if check.type == "row_count":
        if check.min is not None and check.max is not None:
            expected = f"between {check.min:,} and {check.max:,}"
        elif check.min is not None:
            expected = f"at least {check.min:,}"
        else:
            expected = f"at most {check.max:,}"
        return f"{total:,} rows; expected {expected}"
    if check.type == "freshness":
        latest = sample[0].get("latest") if sample else None
        if latest is None:
            return f"no {check.column} value: the table is empty or all null (max age {check.max_age_text})"
        age = float(sample[0].get("age_seconds") or 0.0)
        return f"newest {check.column} is {latest} ({_age(age)} old; max {check.max_age_text})"
    pct = f" ({100.0 * failing / total:.3g}%)" if total else ""
    text = f"{failing:,} of {total:,} rows{pct}: {reason(check)}"
    limits = [
        f"{k} {t}" for k, t in (("error_if", check.error_if), ("warn_if", check.warn_if)) if t
    ]
    return text + (f" [{', '.join(limits)}]" if limits else "")


def _age(seconds: float) -> str:
    for unit, size in (("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} seconds"


def anomaly(check: Check, current: int, past: Sequence[int]) -> tuple[int, str, dict[str, Any]]:
    """(failing 0/1, message, detail) of a row count against the previous runs' counts.

    ``past`` is newest first; the first ``check.window`` values are the baseline.

    >>> from headwater.quality.spec import Check
    >>> c = Check("row_count_anomaly", "a", window=5, max_z=3.0)
    >>> anomaly(c, 1000, [1000, 1010, 990, 1005, 995])[0]
    0
    >>> anomaly(c, 2000, [1000, 1010, 990, 1005, 995])[0]
    1
    >>> anomaly(c, 2000, [1000])[1]
    'not enough history: 1 of 3 runs needed (row count 2,000)'
    """
    window = [int(v) for v in list(past)[: check.window]]
    detail: dict[str, Any] = {"row_count": current, "history": window}
    if len(window) < check.min_history:
        return (
            0,
            f"not enough history: {len(window)} of {check.min_history} runs needed (row count {current:,})",
            detail,
        )
    mean = statistics.fmean(window)
    sd = statistics.stdev(window)
    if sd == 0:
        z = 0.0 if current == mean else math.copysign(math.inf, current - mean)
    else:
        z = (current - mean) / sd
    detail.update(mean=round(mean, 3), stdev=round(sd, 3), z=None if math.isinf(z) else round(z, 3))
    failing = 1 if abs(z) > check.max_z else 0
    side = "above" if z > 0 else "below"
    z_text = "infinitely many" if math.isinf(z) else f"{abs(z):.1f}"
    message = (
        f"row count {current:,} is {z_text} standard deviations {side} the mean {mean:,.1f} "
        f"of the last {len(window)} runs (max_z {check.max_z:g})"
    )
    if z == 0:
        message = f"row count {current:,} equals the mean of the last {len(window)} runs"
    return failing, message, detail


def bounded_sample(sample_json: str | None) -> tuple[dict[str, Any], ...]:
    """Parse a JSON list of rows; cut long strings and drop rows beyond SAMPLE_MAX_CHARS.

    >>> bounded_sample('[{"a": 1}, {"a": 2}]')
    ({'a': 1}, {'a': 2})
    >>> len(bounded_sample('[{"a": "%s"}]' % ("x" * 1000))[0]["a"])
    201
    """
    if not sample_json:
        return ()
    try:
        rows = json.loads(sample_json)
    except ValueError:
        return ({"_unparsed": sample_json[:_VALUE_MAX_CHARS]},)
    if not isinstance(rows, list):
        rows = [rows]
    out = [_cut(r) if isinstance(r, dict) else {"value": _cut(r)} for r in rows]
    while len(out) > 1 and len(json.dumps(out, default=str)) > SAMPLE_MAX_CHARS:
        out.pop()
    return tuple(out)


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _VALUE_MAX_CHARS:
        return value[:_VALUE_MAX_CHARS] + "…"
    if isinstance(value, dict):
        return {k: _cut(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut(v) for v in value[:20]]
    return value
