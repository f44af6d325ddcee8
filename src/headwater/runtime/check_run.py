"""``headwater check``: the selected assets' checks on the warehouse as it is, recorded as a
run of kind ``check`` (trigger ``check``; it builds nothing, so `headwater retry` refuses it).

A function the CLI and a future HTTP API both call; printing is the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headwater.errors import HeadwaterError
from headwater.project import Project, select


@dataclass(frozen=True)
class CheckRun:
    """What a check run found: every result, the assets skipped (not built yet)."""

    run_id: str
    results: list[Any] = field(default_factory=list)  # headwater.quality.CheckResult
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No blocking failure (an error-severity check failed or could not run)."""
        return not any(r.blocking for r in self.results)


def run_checks_now(
    project: Project, include: list[str] | None, exclude: list[str], *, engine: Any = None
) -> CheckRun:
    """Run the checks of the selected assets (those that have checks; quarantine checks are
    left out: they judge rows as they load) and record them as a check run, its status
    ``failed`` when a check blocks. Raises HeadwaterError when there is no warehouse yet,
    ProjectError (nothing opened or recorded) when a selected asset uses a feature the
    engine lacks (:mod:`headwater.runtime.engine_support`).
    ``engine``: an open warehouse to use (a server's; not closed here)."""
    from headwater.engines import capabilities_of, open_engine
    from headwater.metastore import Metastore
    from headwater.quality import blocking, run_checks, validate_columns
    from headwater.quality.history import row_count_history, to_rows
    from headwater.runtime.engine_support import refuse_unsupported
    from headwater.runtime.run import new_run_id

    selected = select(project.graph, include, exclude)
    refuse_unsupported(project, selected)  # before anything is opened or recorded
    names = [n for n in selected if project.graph[n].checks]
    location = project.warehouse_location  # a file, or a database's URL
    # a warehouse file must exist (opening one would create it); a database or Spark says itself
    if capabilities_of(project.settings.project.engine).local_file and not Path(location).exists():
        raise HeadwaterError(
            f"{project.warehouse_path}: no warehouse yet (run `headwater run` first)"
        )
    own_engine = engine is None
    if own_engine:
        engine = open_engine(
            project.settings.project.engine,
            location,
            memory_limit=project.settings.project.memory_limit,
            options=project.engine_options,
        )
    store = Metastore.open(project.metastore_url)
    run = CheckRun(new_run_id())
    store.start_run(
        run.run_id,
        project=project.name,
        selection=" ".join(include or []) or None,
        trigger="check",
        params={"steps": names},
    )
    try:
        history = row_count_history(store.engine)
        for name in names:
            asset = project.graph[name]
            assert asset.schema and asset.table
            if not engine.exists(asset.schema, asset.table):
                run.skipped.append(name)
                continue
            checks = [c for c in asset.checks if not c.quarantines]
            validate_columns(checks, engine.columns(asset.schema, asset.table))
            results = run_checks(
                engine.cursor(), name, f"{asset.schema}.{asset.table}", checks, history=history
            )
            status = "failed" if blocking(results) else "success"
            store.upsert_step(run.run_id, name, kind="check", status=status)
            store.record_check_results(to_rows(results, run.run_id, step=name))
            run.results.extend(results)
        store.finish_run(run.run_id, "success" if run.ok else "failed")
        if not run.ok and project.settings.alerts:
            _alert(project, run)
    except BaseException as exc:
        store.finish_run(run.run_id, "failed", unfinished=f"stopped: {type(exc).__name__}")
        raise
    finally:
        if own_engine:
            engine.close()
        store.close()
    return run


def _alert(project: Project, run: CheckRun) -> None:
    """Queue the ``check_failed`` alert of a check run whose checks block (never waits)."""
    from headwater.alerts import check_alert, notify

    failures = [(r.asset, f"{r.check}: {r.message}") for r in run.results if r.blocking]
    alert = check_alert(project.name, run.run_id, failures)
    notify(project.settings.alerts, alert, run_log=project.logs_dir / run.run_id / "run.log")
