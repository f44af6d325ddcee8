"""Quarantine: rows of a source load that fail ``on_fail: quarantine`` checks, kept aside.

During a load (inside its transaction, before the rows are written) :func:`split_quarantine`
moves the failing rows of the staged temp table into ``quarantine.<table>``::

    _hw_check           VARCHAR      names of the failed checks, comma-separated
    _hw_reason          VARCHAR      what is wrong, one reason per check, "; "-separated
    _hw_load_id         BIGINT       the load that brought the row
    _hw_quarantined_at  TIMESTAMPTZ
    ...                 the row's own columns, values as they arrived

A row failing several checks is quarantined once. A row identical (in all its own columns) to
one already in quarantine is not inserted twice, so re-extracting a window (an inclusive
cursor) keeps the quarantine unchanged. :mod:`headwater.quality.release` takes rows back
out, after a fix.

Uniqueness is judged within one load (and, on release, within the released rows).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from headwater.engines import errors
from headwater.engines.base import Cursor
from headwater.errors import SourceError
from headwater.quality.compile import fail_predicate, literal, quote, relation_sql
from headwater.quality.reasons import reason
from headwater.quality.runner import CheckResult, bounded_sample, decide
from headwater.quality.spec import Check

SCHEMA = "quarantine"
META_COLUMNS = ("_hw_check", "_hw_reason", "_hw_load_id", "_hw_quarantined_at")
_FLAGS = "_hw_qflags"


class QuarantineLimitExceeded(SourceError):
    """More rows fail a quarantine check than its ``error_if`` allows: the load is refused."""

    def __init__(self, message: str, results: Sequence[CheckResult]) -> None:
        super().__init__(message)
        self.results = tuple(results)
        self.retryable = False  # the same rows fail again: do not retry the load


@dataclass(frozen=True)
class QuarantineGroup:
    """Quarantined rows of one table sharing their failed checks and reasons."""

    table: str  # quarantine.<table>: the asset's table name
    checks: str  # comma-separated check names
    reason: str
    rows: int
    loads: int
    first_at: datetime | None
    last_at: datetime | None


def table_name(asset: str) -> str:
    """The quarantine table of an asset: ``raw.orders`` -> ``orders``."""
    return asset.rsplit(".", 1)[-1]


def quarantine_relation(asset: str) -> str:
    """``"quarantine"."orders"`` for ``raw.orders``."""
    return f"{quote(SCHEMA)}.{quote(table_name(asset))}"


def split_quarantine(
    cur: Cursor,
    staged: str,
    asset: str,
    load_id: int,
    checks: Sequence[Check],
) -> dict[str, int]:
    """Move the rows of ``staged`` failing quarantine checks to ``quarantine.<table>``.

    Runs inside the caller's open transaction (nothing here commits). Returns, per quarantine
    check, how many rows of the load failed it. Raises :class:`QuarantineLimitExceeded`
    (moving nothing) when a check's ``error_if`` holds for the load; the caller rolls back.
    """
    qchecks = [c for c in checks if c.quarantines]
    if not qchecks:
        return {}
    rel = relation_sql(staged)
    columns = _columns(cur, rel)
    lowered = {c.lower() for c in columns}
    keep_rowid = "rowid" not in lowered  # a real column named rowid hides the pseudo-column
    types = typed_columns(cur, rel)  # the same predicates as run_checks: same rows fail
    preds = [fail_predicate(c, staged, types) for c in qchecks]
    flags = ", ".join(f"coalesce({p}, FALSE) AS _hw_f{i}" for i, p in enumerate(preds))
    any_flag = " OR ".join(f"_hw_f{i}" for i in range(len(preds)))
    head = "rowid AS _hw_rowid" if keep_rowid else "*"
    try:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE {_FLAGS} AS SELECT * FROM "
            f"(SELECT {head}, {flags} FROM {rel} AS _hw_r) WHERE {any_flag}"
        )
    except errors.interrupted():
        raise
    except errors.query_error() as exc:
        where = "; ".join(f"{c.name} ({c.location or '?'})" for c in qchecks)
        first = str(exc).strip().splitlines()[0]
        raise SourceError(
            f"{asset}: the quarantine checks could not run: {first}; checks: {where}"
        ) from None
    try:
        sums = ", ".join(f"count(*) FILTER (WHERE _hw_f{i})" for i in range(len(preds)))
        row = cur.execute(f"SELECT {sums} FROM {_FLAGS}").fetchone()
        assert row is not None
        counts = {c.name: int(n or 0) for c, n in zip(qchecks, row, strict=True)}
        if not any(counts.values()):
            return counts
        total = _scalar(cur, f"SELECT count(*) FROM {rel}")
        over = [
            c for c in qchecks if c.error_if is not None and c.error_if.holds(counts[c.name], total)
        ]
        if over:
            results = quarantine_results(counts, qchecks, asset, total, cur=cur, staged=staged)
            worst = [r for r in results if r.status == "fail"]
            raise QuarantineLimitExceeded(
                f"{asset}: load {load_id} refused, nothing written: "
                + "; ".join(f"{r.check}: {r.message}" for r in worst),
                results,
            )
        target, as_text = _ensure_table(cur, rel, asset, columns)
        src = (
            f"{rel} AS s JOIN {_FLAGS} AS f ON s.rowid = f._hw_rowid"
            if keep_rowid
            else f"{_FLAGS} AS s"
        )
        flag = "f._hw_f" if keep_rowid else "s._hw_f"
        names = ", ".join(
            f"CASE WHEN {flag}{i} THEN {literal(c.name)} END" for i, c in enumerate(qchecks)
        )
        reasons = ", ".join(
            f"CASE WHEN {flag}{i} THEN {literal(c.name + ': ' + reason(c))} END"
            for i, c in enumerate(qchecks)
        )
        same = " AND ".join(_same(c, c in as_text) for c in columns)
        own = ", ".join(f"s.{quote(c)}" for c in columns)
        cur.execute(
            f"INSERT INTO {target} BY NAME SELECT concat_ws(',', {names}) AS _hw_check, "
            f"concat_ws('; ', {reasons}) AS _hw_reason, CAST(? AS BIGINT) AS _hw_load_id, "
            f"now() AS _hw_quarantined_at, {own} FROM {src} "
            f"WHERE NOT EXISTS (SELECT 1 FROM {target} AS q WHERE {same})",
            [load_id],
        )
        if keep_rowid:
            cur.execute(f"DELETE FROM {rel} WHERE rowid IN (SELECT _hw_rowid FROM {_FLAGS})")
        else:
            any_pred = " OR ".join(f"coalesce({p}, FALSE)" for p in preds)
            cur.execute(
                f"CREATE OR REPLACE TEMP TABLE {rel} AS SELECT * FROM {rel} AS _hw_r "
                f"WHERE NOT ({any_pred})"
            )
        return counts
    finally:
        _drop(cur, _FLAGS)


def quarantine_results(
    counts: dict[str, int],
    checks: Sequence[Check],
    asset: str,
    total: int,
    *,
    cur: Cursor | None = None,
    load_id: int | None = None,
    staged: str | None = None,
    duration: float = 0.0,
) -> list[CheckResult]:
    """Results of the quarantine checks of one load (``total`` rows came in).

    Samples come from ``staged`` (before the split) or from the quarantine table rows of
    ``load_id`` (after it) when ``cur`` is given.
    """
    out = []
    for check in checks:
        if not check.quarantines:
            continue
        failing = counts.get(check.name, 0)
        sample: tuple[dict[str, object], ...] = ()
        if cur is not None and failing:
            sample = _sample(cur, check, asset, load_id=load_id, staged=staged)
        pct = f" ({100.0 * failing / total:.3g}%)" if total else ""
        limits = [
            f"{k} {t}" for k, t in (("error_if", check.error_if), ("warn_if", check.warn_if)) if t
        ]
        status = decide(check, failing, total, quarantined=True)
        verb = "quarantined" if status != "fail" else "failing"
        out.append(
            CheckResult(
                check=check.name,
                asset=asset,
                type=check.type,
                severity=check.severity,
                status=status,
                failing=failing,
                total=total,
                sample=sample,
                message=f"{failing:,} of {total:,} rows{pct} {verb}: {reason(check)}"
                + (f" [{', '.join(limits)}]" if limits else ""),
                duration=duration,
                quarantined=True,
            )
        )
    return out


def quarantine_summary(cur: Cursor, asset: str | None = None) -> list[QuarantineGroup]:
    """Quarantined rows per table, checks and reason (most rows first within a table)."""
    # literals, not bound parameters: binding one makes DuckDB's Python client import numpy,
    # pandas and pyarrow (~85 MB of a server's memory; its overview reads this)
    sql = f"SELECT table_name FROM information_schema.tables WHERE table_schema = {literal(SCHEMA)}"
    if asset is not None:
        sql += f" AND table_name = {literal(table_name(asset))}"
    tables = [r[0] for r in cur.execute(sql + " ORDER BY 1").fetchall()]
    out = []
    for table in tables:
        rows = cur.execute(
            "SELECT _hw_check, _hw_reason, count(*), count(DISTINCT _hw_load_id), "
            # epoch(), not epoch_ms(): sqlglot reads epoch_ms as ms -> timestamp (PostgreSQL)
            "CAST(floor(epoch(min(_hw_quarantined_at)) * 1000) AS BIGINT), "
            "CAST(floor(epoch(max(_hw_quarantined_at)) * 1000) AS BIGINT) "
            f"FROM {quote(SCHEMA)}.{quote(table)} GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"
        ).fetchall()
        out += [
            QuarantineGroup(table, c or "", r or "", int(n), int(loads), _ms(lo), _ms(hi))
            for c, r, n, loads, lo, hi in rows
        ]
    return out


# -- helpers ---------------------------------------------------------------------------------


def _ensure_table(cur: Cursor, rel: str, asset: str, columns: list[str]) -> tuple[str, set[str]]:
    """Create ``quarantine.<table>`` or bring it up to the load's columns.

    Returns its name and the columns to compare as text: a column whose type in the load
    differs from the table's becomes VARCHAR in the table (every value keeps its text).
    """
    table = table_name(asset)
    target = quarantine_relation(asset)
    if not _scalar(
        cur, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", [SCHEMA]
    ):
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(SCHEMA)}")
    if not _exists(cur, table):
        own = ", ".join(quote(c) for c in columns)
        cur.execute(
            f"CREATE TABLE {target} AS SELECT CAST(NULL AS VARCHAR) AS _hw_check, "
            "CAST(NULL AS VARCHAR) AS _hw_reason, CAST(NULL AS BIGINT) AS _hw_load_id, "
            f"CAST(NULL AS TIMESTAMPTZ) AS _hw_quarantined_at, {own} FROM {rel} LIMIT 0"
        )
        return target, set()
    have = {name.lower(): (name, kind) for name, kind in _types(cur, target).items()}
    types = _types(cur, rel)
    as_text = set()
    for col in columns:
        if col.lower() not in have:
            cur.execute(f"ALTER TABLE {target} ADD COLUMN {quote(col)} {types[col]}")
        elif have[col.lower()][1] != types[col]:
            name, kind = have[col.lower()]
            if kind != "VARCHAR":
                cur.execute(f"ALTER TABLE {target} ALTER COLUMN {quote(name)} TYPE VARCHAR")
            as_text.add(col)
    return target, as_text


def _same(col: str, as_text: bool) -> str:
    q, s = f"q.{quote(col)}", f"s.{quote(col)}"
    if as_text:
        q, s = f"CAST({q} AS VARCHAR)", f"CAST({s} AS VARCHAR)"
    return f"{q} IS NOT DISTINCT FROM {s}"


def typed_columns(cur: Cursor, rel: str) -> dict[str, str]:
    """Column types by lower-case name, as :func:`~headwater.quality.compile.fail_predicate`
    takes them (so quarantine and ``run_checks`` judge a row alike)."""
    return {name.lower(): kind for name, kind in _types(cur, rel).items()}


def _types(cur: Cursor, rel: str) -> dict[str, str]:
    return dict(cur.execute(f"SELECT column_name, column_type FROM (DESCRIBE {rel})").fetchall())


def _sample(
    cur: Cursor,
    check: Check,
    asset: str,
    *,
    load_id: int | None,
    staged: str | None,
) -> tuple[dict[str, object], ...]:
    if staged is not None:
        rel = relation_sql(staged)
        pred = fail_predicate(check, staged, typed_columns(cur, rel))
        sql = f"SELECT * FROM {rel} AS _hw_r WHERE {pred} LIMIT 5"
        params: list[object] = []
    elif _exists(cur, table_name(asset)):
        sql = (
            f"SELECT * EXCLUDE (_hw_quarantined_at) FROM {quarantine_relation(asset)} "
            "WHERE list_contains(string_split(_hw_check, ','), ?)"
            # as text: the quarantine of a warehouse made before numeric ids holds text ones
            + (" AND CAST(_hw_load_id AS VARCHAR) = ?" if load_id is not None else "")
            + " LIMIT 5"
        )
        params = [check.name, *([str(load_id)] if load_id is not None else [])]
    else:
        return ()
    row = cur.execute(f"SELECT to_json(list(_hw_s)) FROM ({sql}) AS _hw_s", params).fetchone()
    return bounded_sample(row[0] if row else None)


def _drop(cur: Cursor, table: str) -> None:
    """Drop a helper temp table; in an aborted transaction leave it (the rollback does)."""
    with contextlib.suppress(*errors.query_error()):
        cur.execute(f"DROP TABLE IF EXISTS {table}")


def _columns(cur: Cursor, rel: str) -> list[str]:
    return [r[0] for r in cur.execute(f"SELECT column_name FROM (DESCRIBE {rel})").fetchall()]


def _exists(cur: Cursor, table: str) -> bool:
    return bool(
        _scalar(
            cur,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
            "AND table_name = ?",
            [SCHEMA, table],
        )
    )


def _scalar(cur: Cursor, sql: str, params: Sequence[object] | None = None) -> int:
    row = cur.execute(sql, list(params) if params is not None else None).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _ms(value: object) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(int(value) / 1000, UTC)  # type: ignore[call-overload]
