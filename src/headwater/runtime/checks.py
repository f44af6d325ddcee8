"""An asset's checks inside its step: quarantine while loading, audit before publishing.

Write, audit, publish: checks run inside the build's transaction, after the new rows are
written and before they commit. A blocking result raises :class:`ChecksFailed`, so the
transaction rolls back: readers and downstream steps keep the previous version, and the
source's watermark does not move. Row-level checks marked ``on_fail: quarantine`` screen a
source's staged rows first: failing rows go to ``quarantine.<table>`` with their reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from headwater.config.secrets import redact_text
from headwater.metastore import Metastore
from headwater.project.asset import Asset
from headwater.project.checks import Check

if TYPE_CHECKING:  # the quality modules load only for assets that have checks
    from headwater.quality import CheckResult


class AssetChecks:
    """The checks of one step: hooks for the engine, and the results they produced."""

    def __init__(
        self,
        asset: Asset,
        *,
        run_id: str,
        load_id: int | None,  # None for a model: its rows are rebuilt, not loaded
        history: Callable[[str], Sequence[int]] | None,
    ) -> None:
        self.asset = asset
        self.run_id = run_id
        self.load_id = load_id
        self.history = history
        self.quarantine = [c for c in asset.checks if c.quarantines]
        self.audited = [c for c in asset.checks if not c.quarantines]
        self.results: list[CheckResult] = []
        self.quarantined: dict[str, int] = {}
        self.staged_rows = 0
        self.quarantined_rows = 0  # distinct rows (one row may fail several checks)

    @property
    def screen(self) -> QuarantineScreen | None:
        """The load's ``screen`` hook: None when no check quarantines or for a model."""
        if not self.quarantine or self.load_id is None:
            return None
        return QuarantineScreen(self, self.load_id)

    @property
    def audit(self) -> Callable[[Any, str], None] | None:
        if not self.audited:
            return None

        def audit(cur: Any, target: str) -> None:
            from headwater.quality import ChecksFailed, blocking, run_checks, validate_columns

            validate_columns(self.audited, _columns(cur, target))
            self.results += run_checks(
                cur, self.asset.name, target, self.audited, history=self.history
            )
            if blocking(self.results):
                raise ChecksFailed(self.asset.name, self.results)

        return audit

    def record(self, store: Metastore) -> None:
        if not self.results:
            return
        from headwater.quality.history import to_rows

        rows = to_rows(self.results, self.run_id, step=self.asset.name)
        for row in rows:
            row["message"] = redact_text(row["message"])
        store.record_check_results(rows)

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        return {"checks": counts, "quarantined": self.quarantined_rows}


class QuarantineScreen:
    """The quarantine split of one source load: ``screen(cursor, staged)`` moves the staged
    rows failing the asset's ``on_fail = quarantine`` checks to ``quarantine.<table>`` and
    records the counts and results on its :class:`AssetChecks`.

    ``reads`` are its relationships checks: each reads another table (``to``). An engine
    screening the rows outside the warehouse (Spark, in the load's scratch DuckDB) must
    show that table there, holding at least the rows whose ``field`` equals a staged
    ``column`` value, with the warehouse's column types (the contract in
    :mod:`headwater.engines.screen`); an engine screening inside the warehouse ignores it.
    """

    def __init__(self, checks: AssetChecks, load_id: int) -> None:
        self.checks = checks
        self.load_id = load_id
        self.reads: tuple[Check, ...] = tuple(c for c in checks.quarantine if c.to)

    def __call__(self, cur: Any, staged: str) -> None:
        from headwater.quality import quarantine_results, split_quarantine, validate_columns

        owner, load_id = self.checks, self.load_id
        validate_columns(owner.quarantine, _columns(cur, staged))
        row = cur.execute(f"select count(*) from {staged}").fetchone()
        owner.staged_rows = int(row[0]) if row else 0
        owner.quarantined = split_quarantine(
            cur, staged, owner.asset.name, load_id, owner.quarantine
        )
        left = cur.execute(f"select count(*) from {staged}").fetchone()
        owner.quarantined_rows = owner.staged_rows - (int(left[0]) if left else 0)
        owner.results += quarantine_results(
            owner.quarantined,
            owner.quarantine,
            owner.asset.name,
            owner.staged_rows,
            cur=cur,
            load_id=load_id,
        )


def _columns(cur: Any, relation: str) -> dict[str, str]:
    return {name: dtype for name, dtype, *_ in cur.execute(f"describe {relation}").fetchall()}


def preflight(project: Any, names: Sequence[str], engine: Any) -> None:
    """Check columns of the assets that already exist, before any data moves."""
    for name in names:
        asset = project.graph[name]
        if asset.checks and asset.schema and engine.exists(asset.schema, asset.table):
            from headwater.quality import validate_columns

            columns = engine.columns(asset.schema, asset.table)
            validate_columns([c for c in asset.checks if not c.quarantines], columns)
