"""``headwater demo``: generate the store, run its pipeline, print the four answers.

The answers are also checked against the generator's ground truth (computed in Python from
the generated records, independently of the SQL), so the demo says whether it is right.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from rich.console import Console
from rich.table import Table

from headwater.config.secrets import redact_text
from headwater.demo.warehouses import ENV
from headwater.errors import HeadwaterError

SEED = 7


def run_demo(
    console: Console,
    directory: Path,
    *,
    scale: float = 1.0,
    append: bool = False,
    threads: int | None = None,
    databases: str = "embedded",
    engine: str | None = None,
    warehouse: str | None = None,
) -> bool:
    """Set up (or append to) the demo in ``directory``, run it; True when all went well.

    ``engine``: the warehouse's engine (default DuckDB; an appended demo keeps its own);
    ``warehouse``: a PostgreSQL URL for ``engine="postgres"`` (else a server is started)."""
    from headwater.demo.scaffold import copy_template
    from headwater.demo.stream import write_streamed
    from headwater.demo.truth import answers
    from headwater.demo.warehouses import check_engine
    from headwater.demo.warehouses import warehouse as warehouse_for
    from headwater.demo.writer import append_batch, read_state
    from headwater.project import load_project
    from headwater.runtime import run
    from headwater.runtime.display import RunDisplay, summary

    if engine is not None:
        check_engine(engine)  # before anything is written
    state = read_state(directory) if directory.exists() else None
    if append:
        if state is None:
            raise HeadwaterError(
                f"{directory}: no demo here yet; run `headwater demo --dir {directory}` first"
            )
        engine = _appended_engine(directory, engine)
        dataset = append_batch(directory)
        expected = answers(dataset)
        console.print(
            f"appended batch {len(dataset.batches)} of new and updated rows to {directory}"
        )
    else:
        if directory.exists() and any(directory.iterdir()):
            if state is None:
                raise HeadwaterError(
                    f"{directory} exists and is not a demo folder; choose another --dir"
                )
            shutil.rmtree(directory)  # a fresh demo: generated content only
        copy_template(directory)
        engine = engine or "duckdb"
        expected = write_streamed(directory, scale=scale, seed=SEED)  # rows are not kept
        console.print(f"generated the four-region store (scale {scale:g}) in {directory}")
    with contextlib.ExitStack() as stack:
        if databases == "real":
            from headwater.demo import real

            real.point_connections(directory)
            console.print("starting PostgreSQL (Europe) and MariaDB (North America) on 127.0.0.1")
            stack.enter_context(real.servers(directory))
        elif databases != "embedded":
            raise HeadwaterError(f"--databases must be embedded or real, not {databases!r}")
        url = stack.enter_context(warehouse_for(directory, engine, warehouse))
        if url is not None:
            console.print(f"the warehouse: {redact_text(url)} (its password: ${{{ENV}}})")
        project = load_project(directory)
        with RunDisplay(console, len(project.graph)) as display:
            result = run(project, threads=threads, on_event=display)
        summary(console, result)
        if result.status != "success":
            return False
        got = _answers_from_warehouse(project)
    print_answers(console, got)
    if got == expected:
        console.print("[green]The four answers match the generator's ground truth.[/]")
        return True
    console.print("[red]The answers differ from the generator's ground truth![/]")
    return False


def _appended_engine(directory: Path, engine: str | None) -> str:
    """The engine of the demo in ``directory``; ``engine``, when given, must be it."""
    from headwater.project import load_project

    own = load_project(directory).settings.project.engine
    if engine is not None and engine != own:
        raise HeadwaterError(f"{directory}: this demo's warehouse is {own}, not {engine}")
    return own


def _answers_from_warehouse(project):  # type: ignore[no-untyped-def]
    """The four answers, asked of the project's warehouse in its own engine."""
    from headwater.demo.questions import run_questions
    from headwater.engines import open_engine

    engine = open_engine(
        project.settings.project.engine,
        project.warehouse_location,
        read_only=True,
        options=project.engine_options,
    )
    try:
        return run_questions(engine.cursor())
    finally:
        engine.close()


def print_answers(console: Console, got) -> None:  # type: ignore[no-untyped-def]
    from headwater.demo.questions import QUESTIONS

    q1, q2, q3, q4 = QUESTIONS
    console.print(f"\n[bold]1. {q1.text}[/]")
    t1 = Table("shade", "units")
    for shade, units in got.units_by_shade.items():
        t1.add_row(shade, str(units))
    console.print(t1)
    console.print(f"\n[bold]2. {q2.text}[/]")
    t2 = Table("region", "foundation units")
    for region, units in sorted(got.units_by_region.items(), key=lambda kv: -kv[1]):
        t2.add_row(region + (" (top)" if region == got.top_region else ""), str(units))
    console.print(t2)
    top_hours = sorted(got.units_by_hour.items(), key=lambda kv: -kv[1])[:5]
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    console.print(f"\n[bold]3. {q3.text}[/]")
    t3 = Table("busiest hours (UTC)", "units", "weekday", "units")
    by_day = sorted(got.units_by_weekday.items(), key=lambda kv: -kv[1])
    for i in range(max(len(top_hours), len(by_day))):
        hour = f"{top_hours[i][0]:02d}:00" if i < len(top_hours) else ""
        hu = str(top_hours[i][1]) if i < len(top_hours) else ""
        day = days[by_day[i][0] - 1] if i < len(by_day) else ""
        du = str(by_day[i][1]) if i < len(by_day) else ""
        t3.add_row(hour, hu, day, du)
    console.print(t3)
    console.print(f"\n[bold]4. {q4.text}[/]\n   {got.add_then_remove_customers} customers\n")
