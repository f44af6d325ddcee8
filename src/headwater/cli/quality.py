"""``headwater check`` and ``headwater quarantine``: checks on demand, quarantined rows.
Each prints what :mod:`headwater.api` answers, or what a live server answers (``via``: a
:class:`headwater.server.client.Remote`, whose calls return the same records)."""

from __future__ import annotations

import difflib
import json
import sys
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from headwater.api.records import QuarantineListing, ReleaseResult
from headwater.cli.options import check_format
from headwater.errors import ProjectError, UnknownAssetError
from headwater.project import Project

ACTIONS = ("show", "release", "discard")
USAGE = "headwater quarantine [show] [ASSET] | release ASSET | discard ASSET"


def run_check_command(
    console: Console,
    project: Project,
    include: list[str] | None,
    exclude: list[str],
    fmt: str,
    *,
    via: Any = None,
) -> bool:
    """Run the selected assets' checks on the warehouse as it is (a check run, see
    :func:`headwater.api.check`) and print them; True when none
    blocks. JSON: one document with every result whole (message and sample untruncated)."""
    from headwater import api

    check_format(fmt, ("table", "json"))
    found = (via or api).check(project, include, exclude)
    if fmt == "json":
        sys.stdout.write(json.dumps(found.to_json(), default=str, indent=1) + "\n")
        return found.ok
    for name in found.skipped:
        console.print(f"[yellow]{name}: not built yet, its checks are skipped[/]")
    table = Table("check", "asset", "status", "failing rows", "sample")
    style = {"pass": "green", "warn": "yellow", "fail": "red", "error": "red"}
    for r in found.results:
        sample = json.dumps(list(r.sample[:2]), default=str)[:80] if r.sample else ""
        table.add_row(r.check, r.asset, f"[{style[r.status]}]{r.status}[/]", f"{r.failing}", sample)
    console.print(table)
    console.print(
        f"{len(found.results)} checks: "
        + ", ".join(
            f"{sum(1 for r in found.results if r.status == s)} {s}"
            for s in ("pass", "warn", "fail", "error")
        )
        + f" (check run {found.run_id})"
    )
    return found.ok


@dataclass(frozen=True)
class QuarantineOptions:
    """The options of ``headwater quarantine``."""

    check: str | None = None
    load_id: str | None = None
    force: bool = False
    rows: bool = False  # print the rows themselves, not the summary
    limit: int = 50
    format: str = "table"


def parse_action(project: Project, args: list[str]) -> tuple[str, Any]:
    """``(action, source asset or None)`` from the words after ``quarantine``.

    The first of two words must be an action (``show``, ``release``, ``discard``): a typo
    there is a usage error (exit 2, the closest action named), never read as an asset. A
    single word is an asset, unless it is an action (``release`` and ``discard`` then lack
    their ASSET). An asset named like an action is reached with ``quarantine show NAME``."""
    if not args:
        return "show", None
    if len(args) > 2:
        raise ProjectError(f"too many arguments {' '.join(args[2:])!r}; usage: {USAGE}")
    if len(args) == 2 and args[0] not in ACTIONS:
        close = difflib.get_close_matches(args[0], ACTIONS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ProjectError(f"unknown action {args[0]!r}{hint}; usage: {USAGE}")
    if len(args) == 1 and args[0] in ACTIONS:
        if args[0] != "show":
            raise ProjectError(f"headwater quarantine {args[0]} needs an ASSET; usage: {USAGE}")
        return "show", None
    action, name = (args[0], args[1]) if len(args) == 2 else ("show", args[0])
    return action, _asset(project, name)


def quarantine_command(
    console: Console,
    project: Project,
    args: list[str],
    options: QuarantineOptions,
    *,
    via: Any = None,
) -> None:
    """``quarantine [ASSET] [--rows]`` (summary or rows), ``quarantine release ASSET``,
    ``quarantine discard ASSET``; see :func:`parse_action`. ``project`` is loaded either
    way: the words are checked against its sources before anything is asked."""
    action, asset = parse_action(project, args)
    check_format(options.format, ("table", "json"))
    if options.rows and (action != "show" or asset is None):
        raise ProjectError("--rows needs one ASSET: headwater quarantine ASSET --rows")
    from headwater import api

    calls: Any = via or api
    if action == "show" and options.rows:
        found = calls.quarantined_rows(
            project, asset.name, check=options.check, load_id=options.load_id, limit=options.limit
        )
        _rows(console, found.columns, found.rows, options.format)
    elif action == "show":
        _show(console, calls.quarantine(project, asset.name if asset else None), options.format)
    elif action == "discard":
        n = calls.discard(project, asset.name, check=options.check, load_id=options.load_id)
        console.print(f"discarded {n} quarantined rows of {asset.name}")
    else:
        released = calls.release(
            project, asset.name, check=options.check, load_id=options.load_id, force=options.force
        )
        _print_release(console, released)


def _rows(console: Console, columns: list[str], rows: list[tuple[Any, ...]], fmt: str) -> None:
    if fmt == "json":
        _json([dict(zip(columns, r, strict=True)) for r in rows])
        return
    table = Table(*columns)
    for r in rows:
        table.add_row(*("NULL" if v is None else str(v) for v in r))
    console.print(table)


def _json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, default=str, indent=1) + "\n")


def _asset(project: Project, name: str) -> Any:
    found = [a for a in project.graph if a.kind == "source" and name in (a.name, a.short_name)]
    if not found:
        names = sorted({a.short_name for a in project.graph if a.kind == "source"})
        close = difflib.get_close_matches(name, [*names, *ACTIONS], n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UnknownAssetError(f"no source asset {name!r}{hint}; usage: {USAGE}")
    return found[0]


def _show(console: Console, listing: QuarantineListing, fmt: str) -> None:
    if fmt == "json":
        _json(listing.to_json())
        return
    groups, rejected = listing.quarantined, listing.rejected
    table = Table("table", "checks", "reason", "rows", "loads", "last quarantined (UTC)")
    for g in groups:
        table.add_row(
            g.table,
            g.checks,
            g.reason,
            str(g.rows),
            str(g.loads),
            f"{g.last_at:%Y-%m-%d %H:%M:%S}" if g.last_at else "",
        )
    console.print(table)
    if rejected:
        other = Table(
            "asset", "rejected while reading (file lines, duplicates, schema contract)", "rows"
        )
        for r in rejected:
            other.add_row(r.asset, (r.error or "").split(": Expected")[0][:90], str(r.rows))
        console.print(other)


def _print_release(console: Console, released: ReleaseResult) -> None:
    if not released.released:
        console.print(
            f"nothing released from quarantine.{released.table}: {released.remaining} selected rows still fail its checks"
        )
        return
    console.print(
        f"released {released.released} rows into {released.asset} ({released.written} written); "
        f"{released.remaining} still fail and stay in quarantine"
    )
