"""Run a project through the CLI and collect what a user sees of one source step: the run
summary, the step's log and ``headwater loads``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from headwater.project import load_project
from headwater.testing.cli import invoke


@dataclass(frozen=True)
class Seen:
    summary: str  # what `headwater run` printed
    log: str  # the step's log file
    loads: str  # what `headwater loads ASSET` printed


def run_and_look(root: Path, asset: str) -> Seen:
    """``headwater run`` (it must succeed), then ``headwater loads asset``."""
    ran = invoke("run", "-p", str(root))
    assert ran.exit_code == 0, ran.output
    found = re.search(r"run (\S+) success", ran.stdout)
    assert found, ran.stdout
    log = load_project(root).logs_dir / found.group(1) / f"{asset}.log"
    loads = invoke("loads", asset, "-p", str(root))
    assert loads.exit_code == 0, loads.output
    return Seen(ran.stdout, log.read_text() if log.exists() else "", loads.stdout)


def loads_rows(text: str) -> list[dict[str, str]]:
    """The rows of ``headwater loads`` (a Rich table), newest first, as header -> cell; a
    cell wrapped over several lines is joined with a space."""
    header = _joined([_cells(ln, "┃") for ln in text.splitlines() if "┃" in ln])
    rows: list[list[list[str]]] = []
    for line in text.splitlines():
        if "│" not in line:
            continue
        cells = _cells(line, "│")
        if cells[0]:  # a load id: a new row (its wrapped lines have none)
            rows.append([])
        rows[-1].append(cells)
    return [dict(zip(header, _joined(r), strict=True)) for r in rows]


def _cells(line: str, bar: str) -> list[str]:
    return [c.strip() for c in line.split(bar)[1:-1]]


def _joined(lines: list[list[str]]) -> list[str]:
    return [" ".join(p for p in parts if p) for parts in zip(*lines, strict=True)]
