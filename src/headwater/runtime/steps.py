"""Turn graph nodes into executor steps: which layer does the work for each kind."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from headwater.engines.base import LoadResult
from headwater.metastore import Metastore
from headwater.models import run_model
from headwater.project import Project
from headwater.project.asset import Asset
from headwater.runtime.checks import AssetChecks
from headwater.runtime.executor import Step
from headwater.sources import run_source
from headwater.tasks import run_task


def step_for(
    asset: Asset,
    *,
    project: Project,
    engine: Any,
    run_id: str,
    deps: tuple[str, ...],
    logger: Callable[[str], logging.Logger],
    store: Metastore,
    history: Callable[[str], Sequence[int]] | None = None,
) -> Step:
    cfg = project.settings.project

    def work() -> dict[str, Any]:
        log = logger(asset.name)
        load_id = f"{run_id}:{asset.name}"
        checks = AssetChecks(asset, run_id=run_id, load_id=load_id, history=history)
        try:
            if asset.kind == "source":
                result: LoadResult = run_source(
                    asset,
                    engine=engine,
                    settings=project.settings,
                    root=project.root,
                    load_id=load_id,
                    log=log,
                    screen=checks.screen,
                    audit=checks.audit,
                )
                return {
                    "rows_in": result.rows_in,
                    "rows_out": result.rows_written,
                    "rows_rejected": result.rows_rejected,
                    "cursor": result.cursor_max,
                    **checks.summary(),
                }
            if asset.kind == "model":
                count = run_model(
                    asset, engine=engine, graph=project.graph, log=log, audit=checks.audit
                )
                return {"rows_out": count, **checks.summary()}
            run_task(asset, engine=engine, root=project.root, run_id=run_id, log=log)
            return {}
        except Exception as exc:
            results = getattr(exc, "results", None)  # a quarantine limit carries its results
            if results and not checks.results:
                checks.results = list(results)
            log.error("%s", exc)
            raise
        finally:
            checks.record(store)
            for handler in list(log.handlers):
                handler.close()
                log.removeHandler(handler)

    return Step(
        name=asset.name,
        deps=deps,
        fn=work,
        kind=asset.kind,
        retries=asset.retries if asset.retries is not None else cfg.retries,
        retry_delay=asset.retry_delay if asset.retry_delay is not None else cfg.retry_delay,
        timeout=asset.timeout if asset.timeout is not None else cfg.timeout,
        cancel=getattr(engine, "interrupt", None),
        # a source whose server restarts mid-extract starts over cleanly (the failed attempt
        # committed nothing), so it gets a few retries even when none are configured
        transient_retries=3 if asset.kind == "source" else 0,
    )


def step_logger(logs_dir: Path) -> Callable[[str], logging.Logger]:
    """A factory of per-step loggers writing to ``logs_dir/<step>.log``."""
    logs_dir.mkdir(parents=True, exist_ok=True)

    def make(name: str) -> logging.Logger:
        # A standalone logger, not registered with logging's manager: registering thousands
        # (and setLevel, which clears every logger's cache) cost O(steps^2) per run.
        log = logging.Logger(f"headwater.step.{logs_dir.name}.{name}", logging.INFO)
        log.propagate = False
        handler = logging.FileHandler(logs_dir / f"{name}.log", encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        return log

    return make
