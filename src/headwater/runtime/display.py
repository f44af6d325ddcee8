"""Progress of a run: a live Rich display on a terminal, plain log lines otherwise."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from headwater.runtime import Event, RunResult

_STYLE = {
    "success": "green",
    "failed": "red",
    "interrupted": "red",
    "timed_out": "red",
    "upstream_failed": "yellow",
    "retrying": "yellow",
    "running": "cyan",
}


class RunDisplay:
    """Feed it executor events; it prints finished steps and keeps a live status line."""

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.total = total
        self.done = 0
        self.running: dict[str, float] = {}
        self.live: Live | None = None
        self.quiet_success = total > 200  # big graphs: show failures and a counter only

    def __enter__(self) -> RunDisplay:
        if self.console.is_terminal:
            self.live = Live(
                self._status(), console=self.console, refresh_per_second=8, transient=True
            )
            self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)

    def __call__(self, event: Event) -> None:
        if event.kind == "started":
            self.running[event.step] = time.monotonic()
            if self.live is None and not self.quiet_success:
                self._line(event.step, "started", "running")
        elif event.kind == "retrying":
            self.running.pop(event.step, None)
            self._line(
                event.step,
                f"attempt {event.attempt} of {event.of} failed, retrying in {event.delay:.1f}s: "
                f"{_first(event.error)}",
                "retrying",
            )
        else:
            began = self.running.pop(event.step, None)
            self.done += 1
            took = f" {time.monotonic() - began:.2f}s" if began else ""
            if event.first_started_at is not None:  # from the first attempt, waits included
                took = f" {event.at - event.first_started_at:.2f}s"
            rows = _rows(event.result)
            detail = f"{event.status}{took}{rows}"
            if event.error:
                detail += f": {_first(event.error)}"
            if event.status != "success" or not self.quiet_success:
                self._line(event.step, detail, event.status)
        if self.live is not None:
            self.live.update(self._status())

    def _line(self, step: str, text: str, status: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.console.print(
            Text.assemble(
                (stamp + " ", "dim"), (f"{step} ", "bold"), (text, _STYLE.get(status, ""))
            ),
            highlight=False,
            soft_wrap=True,
        )

    def _status(self) -> Text:
        names = ", ".join(list(self.running)[:4]) + (" ..." if len(self.running) > 4 else "")
        return Text(f"{self.done}/{self.total} steps done; running: {names or '-'}", style="cyan")


def summary(console: Console, result: RunResult) -> None:
    """The run's last lines: its status and step counts, rows set aside, rows superseded,
    then each schema change a load met (with what its contract did)."""
    counts: dict[str, int] = {}
    rows = rejected = quarantined = superseded = 0
    changes: list[str] = []
    for st in result.steps.values():
        counts[st.status] = counts.get(st.status, 0) + 1
        if isinstance(st.result, dict):
            rows += st.result.get("rows_out") or 0
            rejected += st.result.get("rows_rejected") or 0
            quarantined += st.result.get("quarantined") or 0
            superseded += st.result.get("rows_superseded") or 0
            changes += st.result.get("schema_changes") or []
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    style = "green" if result.status == "success" else "red"
    extra = ""
    if rejected or quarantined:
        extra = f"; {quarantined} rows quarantined, {rejected} rejected while reading (headwater quarantine)"
    if superseded:
        extra += f"; {superseded} rows superseded by a newer row of their key (headwater loads)"
    console.print(
        f"[{style}]run {result.run_id} {result.status}[/] in {result.seconds:.2f}s: {parts}{extra}",
        highlight=False,
        soft_wrap=True,
    )
    for change in changes:
        # Text, not markup: a type such as INTEGER[] must print as it is
        text = Text.assemble(("schema change ", "yellow"), change)
        console.print(text, highlight=False, soft_wrap=True)


def _rows(result: Any) -> str:
    if not isinstance(result, dict):
        return ""
    parts = []
    if result.get("rows_in") is not None:
        parts.append(f"in={result['rows_in']}")
    if result.get("rows_out") is not None:
        parts.append(f"out={result['rows_out']}")
    if result.get("rows_rejected"):
        parts.append(f"rejected={result['rows_rejected']}")
    if result.get("quarantined"):
        parts.append(f"quarantined={result['quarantined']}")
    if result.get("rows_superseded"):
        parts.append(f"superseded={result['rows_superseded']}")
    if result.get("schema_changes"):
        parts.append(f"schema changes={len(result['schema_changes'])}")
    checks = result.get("checks") or {}
    if checks:
        parts.append("checks " + "/".join(f"{n} {s}" for s, n in sorted(checks.items())))
    return f" ({' '.join(parts)})" if parts else ""


def _first(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if text else ""
