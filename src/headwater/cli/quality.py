"""``headwater check`` and ``headwater quarantine``: checks on demand, quarantined rows."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from headwater.errors import HeadwaterError
from headwater.project import Project, select


def run_check_command(
    console: Console, project: Project, include: list[str] | None, exclude: list[str]
) -> bool:
    """Run the selected assets' checks on the warehouse as it is; True when none blocks."""
    from headwater.engines import open_engine
    from headwater.metastore import Metastore
    from headwater.quality import blocking, run_checks, validate_columns
    from headwater.quality.history import row_count_history, to_rows
    from headwater.runtime.run import new_run_id

    names = [n for n in select(project.graph, include, exclude) if project.graph[n].checks]
    if not project.warehouse_path.exists():
        raise HeadwaterError(
            f"{project.warehouse_path}: no warehouse yet (run `headwater run` first)"
        )
    engine = open_engine(
        project.settings.project.engine,
        project.warehouse_path,
        memory_limit=project.settings.project.memory_limit,
    )
    store = Metastore.open(project.metastore_url)
    run_id = new_run_id()
    store.start_run(
        run_id, project=project.name, selection=" ".join(include or []) or None, trigger="check"
    )
    history = row_count_history(store.engine)
    all_results = []
    try:
        for name in names:
            asset = project.graph[name]
            assert asset.schema and asset.table
            if not engine.exists(asset.schema, asset.table):
                console.print(f"[yellow]{name}: not built yet, its checks are skipped[/]")
                continue
            checks = [c for c in asset.checks if not c.quarantines]
            validate_columns(checks, engine.columns(asset.schema, asset.table))
            results = run_checks(
                engine.cursor(), name, f"{asset.schema}.{asset.table}", checks, history=history
            )
            store.upsert_step(
                run_id, name, kind="check", status="failed" if blocking(results) else "success"
            )
            store.record_check_results(to_rows(results, run_id, step=name))
            all_results += results
    finally:
        engine.close()
    ok = not blocking(all_results)
    store.finish_run(run_id, "success" if ok else "failed")
    store.close()
    table = Table("check", "asset", "status", "failing rows", "sample")
    style = {"pass": "green", "warn": "yellow", "fail": "red", "error": "red"}
    for r in all_results:
        sample = json.dumps(list(r.sample[:2]), default=str)[:80] if r.sample else ""
        table.add_row(r.check, r.asset, f"[{style[r.status]}]{r.status}[/]", f"{r.failing}", sample)
    console.print(table)
    console.print(
        f"{len(all_results)} checks: "
        + ", ".join(
            f"{sum(1 for r in all_results if r.status == s)} {s}"
            for s in ("pass", "warn", "fail", "error")
        )
    )
    return ok


def quarantine_command(
    console: Console,
    project: Project,
    args: list[str],
    *,
    check: str | None,
    load_id: str | None,
    force: bool,
) -> None:
    """``quarantine [ASSET]`` (summary), ``quarantine release ASSET``, ``quarantine discard ASSET``."""
    action, rest = (
        ("show", args)
        if not args or args[0] not in ("release", "discard", "show")
        else (args[0], args[1:])
    )
    asset = _asset(project, rest[0]) if rest else None
    if action != "show" and asset is None:
        raise HeadwaterError(f"headwater quarantine {action} needs an ASSET")
    from headwater.engines import open_engine

    engine = open_engine(
        project.settings.project.engine,
        project.warehouse_path,
        memory_limit=project.settings.project.memory_limit,
    )
    try:
        if action == "show":
            _show(console, engine, asset)
        elif action == "discard":
            from headwater.quality import discard

            cur = engine.cursor()
            cur.execute("begin transaction")
            n = discard(cur, asset.name, check=check, load_id=load_id)  # type: ignore[union-attr]
            cur.execute("commit")
            console.print(f"discarded {n} quarantined rows of {asset.name}")  # type: ignore[union-attr]
        else:
            _release(console, engine, asset, check=check, load_id=load_id, force=force)
    finally:
        engine.close()


def _asset(project: Project, name: str) -> Any:
    found = [a for a in project.graph if a.kind == "source" and name in (a.name, a.short_name)]
    if not found:
        raise HeadwaterError(f"no source asset {name!r}")
    return found[0]


def _show(console: Console, engine: Any, asset: Any) -> None:
    from headwater.quality import quarantine_summary

    groups = quarantine_summary(engine.cursor(), asset.name if asset else None)
    table = Table("table", "checks", "reason", "rows", "loads", "last quarantined (UTC)")
    for g in groups:
        table.add_row(
            f"quarantine.{g.table}",
            g.checks,
            g.reason,
            str(g.rows),
            str(g.loads),
            f"{g.last_at:%Y-%m-%d %H:%M:%S}" if g.last_at else "",
        )
    console.print(table)
    rejected = (
        engine.cursor()
        .execute(
            "select asset, error, count(*) from _headwater.rejected_rows "
            + ("where asset = ? " if asset else "")
            + "group by all order by 3 desc",
            [asset.name] if asset else [],
        )
        .fetchall()
    )
    if rejected:
        other = Table(
            "asset", "rejected while reading (file lines, duplicates, schema contract)", "rows"
        )
        for a, error, n in rejected:
            other.add_row(a, (error or "").split(": Expected")[0][:90], str(n))
        console.print(other)


def _release(
    console: Console,
    engine: Any,
    asset: Any,
    *,
    check: str | None,
    load_id: str | None,
    force: bool,
) -> None:
    from headwater.engines.base import LoadRequest
    from headwater.quality import release
    from headwater.quality.release import RELEASED

    spec = asset.source
    outcome: dict[str, Any] = {}

    def prepare(cur: Any) -> None:
        released = release(
            cur, asset.name, checks=asset.checks, check=check, load_id=load_id, force=force
        )
        outcome["released"] = released
        if not released.rows:
            raise _NothingToRelease()

    request = LoadRequest(
        schema=asset.schema,
        table=asset.table,
        load_id=engine.new_load_id(),
        write=spec.write,
        primary_key=spec.primary_key,
        cursor=spec.cursor,
        scan_sql=f"select * from {RELEASED}",
        before_stage=prepare,
        advance_state=False,
        contract=spec.settings.contract,
    )
    try:
        result = engine.load(asset.name, request)
    except _NothingToRelease:
        released = outcome.get("released")
        still = released.remaining if released else 0
        console.print(
            f"nothing released from quarantine.{asset.table}: {still} selected rows still fail its checks"
        )
        return
    released = outcome["released"]
    console.print(
        f"released {released.rows} rows into {asset.name} ({result.rows_written} written); "
        f"{released.remaining} still fail and stay in quarantine"
    )


class _NothingToRelease(Exception):
    pass
