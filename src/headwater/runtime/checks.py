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
    def screen(self) -> Callable[[Any, str], None] | None:
        load_id = self.load_id
        if not self.quarantine or load_id is None:
            return None

        def screen(cur: Any, staged: str) -> None:
            from headwater.quality import quarantine_results, split_quarantine, validate_columns

            validate_columns(self.quarantine, _columns(cur, staged))
            row = cur.execute(f"select count(*) from {staged}").fetchone()
            self.staged_rows = int(row[0]) if row else 0
            self.quarantined = split_quarantine(
                cur, staged, self.asset.name, load_id, self.quarantine
            )
            left = cur.execute(f"select count(*) from {staged}").fetchone()
            self.quarantined_rows = self.staged_rows - (int(left[0]) if left else 0)
            self.results += quarantine_results(
                self.quarantined,
                self.quarantine,
                self.asset.name,
                self.staged_rows,
                cur=cur,
                load_id=load_id,
            )

        # the other tables its relationships checks read: an engine screening the rows
        # outside the warehouse (Spark's scratch DuckDB) must show them there
        screen.reads = tuple(sorted({c.to for c in self.quarantine if c.to}))  # type: ignore[attr-defined]
        return screen

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
