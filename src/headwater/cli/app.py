"""``headwater`` commands. Exit codes: 0 ok, 1 error, 2 project error, 3 connection error,
4 source or engine error, 5 run finished with failed steps, 130 interrupted (Ctrl-C), 143
stopped by SIGTERM."""

# No `from __future__ import annotations` here: Typer reads the annotations of every
# command's parameters at each start, and a string annotation costs a compile() and an
# eval() (about an eighth of a one-model run's CPU time over the command modules).

import atexit
import contextlib
import gc
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from headwater.cli.backfill import backfill, partitions
from headwater.cli.export import export_app
from headwater.cli.options import MultiValueCommand, show_version
from headwater.cli.retention import history_app
from headwater.cli.sync import sync
from headwater.cli.trigger import trigger
from headwater.cli.users import token_app, user_app
from headwater.errors import HeadwaterError, ProjectError

app = typer.Typer(
    name="headwater",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="Headwater: ingest, transform, check and serve data. Exit codes: 0 ok, 1 error, "
    "2 project error, 3 connection error, 4 source/engine error, 5 run failed, "
    "130 interrupted (Ctrl-C), 143 stopped by SIGTERM.",
)
ProjectOpt = Annotated[Path, typer.Option("-p", "--project", help="Project folder.")]
SelectOpt = Annotated[
    list[str] | None,
    typer.Option("-s", "--select", help="Selection (name, +name, name+, tag:x, glob)."),
]
ExcludeOpt = Annotated[
    list[str] | None, typer.Option("-x", "--exclude", help="Selection to leave out.")
]
FormatOpt = Annotated[str, typer.Option("-f", "--format", help="table or json")]
app.add_typer(export_app)  # headwater export crontab
app.command()(backfill)
app.command()(partitions)
app.command()(trigger)  # headwater trigger PIPELINE
app.command()(sync)  # headwater sync NAME [--dry-run|--history]
app.add_typer(history_app)  # headwater history prune
app.add_typer(user_app)  # headwater user add|list|passwd|role|disable|remove
app.add_typer(token_app)  # headwater token create|list|revoke


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Headwater: ingest, transform, check and serve data."""


def _console() -> Any:
    from rich.console import Console

    # off a terminal (pipes, CI logs) Rich would assume 80 columns and squeeze tables
    return Console(width=None if sys.stdout.isatty() else 200)


def _server(project: Path) -> Any:
    """The live ``headwater server`` of the project, which then answers the command; None:
    there is none, the command works in-process as always."""
    from headwater.cli.remote import server_of

    return server_of(project)


def _loaded(project: Path, remote: Any) -> Any:
    """The project loaded, or only its folder when a server answers for it."""
    return project if remote is not None else _load(project)


def _load(project: Path, *, discover: bool = False) -> Any:
    from headwater.api import open_project

    return open_project(project, discover=discover)


@app.command()
def discover(project: ProjectOpt = Path(".")) -> None:
    """List the tables of sources declared with tables = ["*"] (include/exclude apply)."""
    from headwater.config.settings import load_settings
    from headwater.project.loader import wildcard_tables
    from headwater.sources.discover import discover as do_discover
    from headwater.sources.discover import wildcard_sources

    root = project.resolve()
    settings = load_settings(root / "headwater.toml")
    if not wildcard_sources(settings):
        typer.echo(
            'no source takes every table of its connection (tables = ["*"]): nothing to list'
        )
        return
    for name, listed in do_discover(root, settings).items():
        tables = wildcard_tables(settings.sources[name], listed)
        typer.echo(f"{name}: {len(tables)} tables (of {len(listed)}): {', '.join(tables)}")


@app.command()
def init(directory: Annotated[Path, typer.Argument(help="Folder to create.")] = Path(".")) -> None:
    """Create a small working example project in DIRECTORY."""
    from headwater.cli.scaffold import scaffold

    written = scaffold(directory)
    typer.echo(f"created {len(written)} files in {directory}; try: headwater run -p {directory}")


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C or SIGTERM (how schedulers and containers stop a process): the run has
    cancelled its steps and recorded itself failed; say which run and how to resume it, and
    exit 130 (Ctrl-C) or 143 (SIGTERM)."""
    previous = _on_sigterm(_raise_terminated)
    try:
        yield
    except KeyboardInterrupt as exc:
        run_id = getattr(exc, "run_id", None)  # RunInterrupted, once the run had started
        if run_id:
            line = f"run {run_id} stopped; `headwater retry {run_id}` reruns what did not finish"
        else:
            line = "stopped before the run started"
        sys.stderr.write(f"interrupted: {line}\n")
        raise typer.Exit(128 + getattr(exc, "signum", signal.SIGINT)) from None
    finally:
        _on_sigterm(previous)


def _raise_terminated(signum: int, frame: Any) -> None:
    """SIGTERM's handler: raise in the main thread what Ctrl-C raises, marked as SIGTERM."""
    from headwater.errors import RunInterrupted

    raise RunInterrupted("", signum=signum)


def _on_sigterm(handler: Any) -> Any:
    """Install ``handler`` for SIGTERM and return the previous one (a no-op off the main
    thread, where Python cannot set handlers: the in-process test runner)."""
    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, handler)


@app.command(cls=MultiValueCommand)
def run(
    project: ProjectOpt = Path("."),
    select: SelectOpt = None,
    exclude: ExcludeOpt = None,
    pipeline: Annotated[str | None, typer.Option(help="Run a pipeline of headwater.toml.")] = None,
    threads: Annotated[int | None, typer.Option("-t", "--threads", min=1)] = None,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Rebuild incremental models and reload the selected sources from scratch.",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask to confirm.")] = False,
    interval_start: Annotated[
        str | None,
        typer.Option(help="Data interval start (ISO 8601): partitioned models build only it."),
    ] = None,
    interval_end: Annotated[
        str | None, typer.Option(help="Data interval end, excluded (with --interval-start).")
    ] = None,
    run_group: Annotated[
        str | None,
        typer.Option(help="The outside run (an Airflow DAG run) this run is a step of."),
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(
            help='Where tasks declared warehouse=False run: "threads", "process" or '
            '"dask://HOST:PORT" (default: [project] executor; in-process runs only).'
        ),
    ] = None,
) -> None:
    """Run the selected assets and tasks (everything by default)."""
    from headwater import api
    from headwater.api.backfill import interval_of
    from headwater.runtime.display import RunDisplay, summary

    proj = _load(project, discover=True)
    chosen = api.selection(proj, select, exclude, pipeline)
    interval = interval_of(proj, pipeline, interval_start, interval_end)
    if full_refresh:
        from headwater.cli.refresh import confirm_full_refresh

        confirm_full_refresh(proj, chosen.names, yes=yes)
    console = _console()
    remote = _server(project)
    if remote is not None and executor is not None:  # the server's runs use its project's
        raise ProjectError("--executor: a server runs this project: set executor in headwater.toml")
    with _interruptible(), RunDisplay(console, len(chosen.names)) as display:
        if remote is not None:  # the server owns the warehouse: queue the run there
            from headwater.cli.remote import follow_run

            run_id = remote.enqueue(
                list(select or []),
                list(exclude or []),
                pipeline,
                full_refresh,
                interval,
                run_group,
            )
            result = follow_run(remote, run_id, display)
        else:
            result = api.run(
                proj,
                select,
                exclude,
                pipeline,
                threads=threads,
                on_event=display,
                full_refresh=full_refresh,
                trigger="cli",
                interval=interval,
                run_group=run_group,
                executor=executor,
            )
    summary(console, result)
    if result.status != "success":
        raise typer.Exit(5)


@app.command()
def retry(
    run_id: str,
    project: ProjectOpt = Path("."),
    threads: Annotated[int | None, typer.Option("-t", "--threads", min=1)] = None,
) -> None:
    """Rerun what failed or did not run in RUN_ID."""
    from headwater import api
    from headwater.runtime.display import RunDisplay, summary

    proj = _load(project)
    console = _console()
    with _interruptible(), RunDisplay(console, 0) as display:
        result = api.retry(proj, run_id, threads=threads, on_event=display)
    if result is None:
        console.print(f"run {run_id}: every step succeeded, nothing to retry")
        return
    summary(console, result)
    if result.status != "success":
        raise typer.Exit(5)


@app.command(cls=MultiValueCommand)
def graph(
    project: ProjectOpt = Path("."),
    select: SelectOpt = None,
    exclude: ExcludeOpt = None,
    format: Annotated[str, typer.Option("-f", "--format", help="text, dot or mermaid")] = "text",
) -> None:
    """Print the dependency graph (or a selection of it)."""
    from headwater.project import select as do_select
    from headwater.project.render import render

    proj = _load(project)
    names = do_select(proj.graph, select, exclude or [])
    try:
        typer.echo(render(proj.graph, names, format))
    except ValueError as exc:
        raise ProjectError(str(exc)) from None


@app.command("compile", cls=MultiValueCommand)
def compile_(
    project: ProjectOpt = Path("."),
    select: SelectOpt = None,
    exclude: ExcludeOpt = None,
) -> None:
    """Print the plan and each selected model's SQL as it would run (touches nothing)."""
    from headwater.cli.compile import compile_command

    typer.echo(compile_command(project, list(select or []), list(exclude or [])))


@app.command()
def runs(
    project: ProjectOpt = Path("."),
    limit: Annotated[int, typer.Option("-n", "--limit")] = 20,
    format: FormatOpt = "table",
) -> None:
    """List recent runs: kind (run, retry, check), status, what a retry retried."""
    from headwater.cli.history import print_runs

    remote = _server(project)
    print_runs(_console(), _loaded(project, remote), limit, format, via=remote)


@app.command()
def show(run_id: str, project: ProjectOpt = Path("."), format: FormatOpt = "table") -> None:
    """Show one run: its steps, timings, row counts and errors (whole in JSON)."""
    from headwater.cli.history import print_run

    remote = _server(project)
    print_run(_console(), _loaded(project, remote), run_id, format, via=remote)


@app.command()
def query(
    sql: str,
    project: ProjectOpt = Path("."),
    format: Annotated[str, typer.Option("-f", "--format", help="table, csv or json")] = "table",
) -> None:
    """Answer SQL from the warehouse (read-only)."""
    from headwater.cli.history import print_query

    remote = _server(project)
    print_query(_console(), _loaded(project, remote), sql, format, via=remote)


@app.command(cls=MultiValueCommand)
def check(
    project: ProjectOpt = Path("."),
    select: SelectOpt = None,
    exclude: ExcludeOpt = None,
    format: FormatOpt = "table",
) -> None:
    """Run the selected assets' checks on the warehouse as it is (exit 5 if one blocks);
    recorded as a run of kind check."""
    from headwater.cli.quality import run_check_command

    remote = _server(project)
    proj = _loaded(project, remote)
    chosen, skipped = list(select or []), list(exclude or [])
    if not run_check_command(_console(), proj, chosen, skipped, format, via=remote):
        raise typer.Exit(5)


@app.command()
def quarantine(
    args: Annotated[
        list[str] | None, typer.Argument(help="[ASSET] | release ASSET | discard ASSET")
    ] = None,
    project: ProjectOpt = Path("."),
    check: Annotated[str | None, typer.Option(help="Only rows that failed this check.")] = None,
    load_id: Annotated[str | None, typer.Option(help="Only rows of this load.")] = None,
    force: Annotated[bool, typer.Option(help="Release without re-validating.")] = False,
    rows: Annotated[bool, typer.Option("--rows", help="Print the quarantined rows.")] = False,
    limit: Annotated[int, typer.Option("-n", "--limit", help="At most N rows (--rows).")] = 50,
    format: FormatOpt = "table",
) -> None:
    """Quarantined rows per asset and reason; release them after a fix (re-validated) or discard."""
    from headwater.cli.quality import QuarantineOptions, quarantine_command

    options = QuarantineOptions(
        check=check, load_id=load_id, force=force, rows=rows, limit=limit, format=format
    )
    remote = _server(project)  # the project still loads: its sources name the ASSET
    quarantine_command(_console(), _load(project), list(args or []), options, via=remote)


@app.command()
def loads(
    asset: Annotated[str | None, typer.Argument(help="Only this source asset.")] = None,
    project: ProjectOpt = Path("."),
    limit: Annotated[int, typer.Option("-n", "--limit")] = 20,
    format: FormatOpt = "table",
) -> None:
    """What each load brought: rows read, rows written, rows rejected, when."""
    from headwater.cli.history import print_loads

    remote = _server(project)
    print_loads(_console(), _loaded(project, remote), asset, limit, format, via=remote)


@app.command()
def server(
    project: ProjectOpt = Path("."),
    port: Annotated[int, typer.Option("--port", help="TCP port (0: any free one).")] = 8765,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Run the project's server: it owns the warehouse, runs queued and scheduled runs and
    answers the HTTP API (and the other commands) until SIGTERM or Ctrl-C."""
    from headwater.server import serve

    serve(project, host=host, port=port)


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where to put the demo project.")] = Path(
        "headwater-demo"
    ),
    scale: Annotated[float, typer.Option(help="Data size factor (1 = about 20k orders).")] = 1.0,
    append: Annotated[
        bool, typer.Option("--append", help="Add new and updated rows, then run again.")
    ] = False,
    threads: Annotated[int | None, typer.Option("-t", "--threads", min=1)] = None,
    databases: Annotated[
        str,
        typer.Option(
            help="embedded (SQLite files) or real (Europe in PostgreSQL, North America in MariaDB)."
        ),
    ] = "embedded",
    engine: Annotated[
        str | None,
        typer.Option(
            help="The warehouse: duckdb (default), postgres (a server started for the demo, "
            "or --warehouse) or spark (local[2] in this process, tables under the demo folder)."
        ),
    ] = None,
    warehouse: Annotated[
        str | None,
        typer.Option(help="With --engine postgres: a database URL to use (postgresql://...)."),
    ] = None,
) -> None:
    """Generate the four-region store, run its pipeline, print the four answers."""
    from headwater.demo.runner import run_demo

    if not run_demo(
        _console(), directory, scale=scale, append=append, threads=threads,
        databases=databases, engine=engine, warehouse=warehouse,
    ):  # fmt: skip
        raise typer.Exit(5)


def main() -> None:
    """Console entry point: user errors print one line and exit with their code."""
    _skip_final_collection()
    try:
        code = app(standalone_mode=False)  # returns the exit code of typer.Exit
        if isinstance(code, int) and code:
            sys.exit(code)
    except HeadwaterError as exc:
        from headwater.config.secrets import redact_text

        sys.stderr.write(f"error: {redact_text(str(exc))}\n")
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("aborted\n")
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        if _is_click_exception(exc):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        raise


def _skip_final_collection() -> None:
    """At exit, freeze what is left so that the interpreter's last garbage collections skip
    it: they would traverse every object of every module a command imported (SQLAlchemy,
    pydantic, Typer...), about a fifth of a one-model run's CPU time. Nothing is lost: each
    command closes its warehouse and metastore itself, atexit handlers and module teardown
    still run, and finalizers of objects left in reference cycles are not promised at exit.
    Registered once per process, however often ``main`` runs (the in-process test runner)."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


def _is_click_exception(exc: BaseException) -> bool:
    """Whether ``exc`` is click's: a usage error shown in one line. Typer vendors click
    since 0.26 (``typer._click``, a private module), so ``click.ClickException`` no longer
    matches the errors Typer raises; the class is recognised by name in either copy."""
    return any(cls.__name__ == "ClickException" for cls in type(exc).__mro__)
