"""Opening a project and naming what a command acts on: :func:`open_project`, the
selection of a run (:func:`selection`, pipelines included), a source asset by name,
:func:`warehouse_in_use`, which names the run holding a busy warehouse, and
:func:`shared_warehouse` / :func:`shared_metastore`, by which a server makes every call use
its one open warehouse and metastore (:func:`metastore` gives a call the shared one or
opens its own)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.errors import HeadwaterError, ProjectError, UnknownAssetError, WarehouseBusy
from headwater.project import Project
from headwater.project.asset import Asset

if TYPE_CHECKING:
    from headwater.engines.protocol import Engine
    from headwater.metastore import Metastore

#: A project: already opened, or its folder.
ProjectLike = Project | str | os.PathLike[str]

# warehouse file -> the engine a long-lived process (``headwater server``) holds open on it
_SHARED: dict[Path, Any] = {}
# metastore URL -> the store a long-lived process holds open on it (shared_metastore)
_STORES: dict[str, Metastore] = {}


@contextlib.contextmanager
def shared_warehouse(project: Project, engine: Any) -> Iterator[None]:
    """While the body runs, every API call on ``project``'s warehouse in this process (run,
    retry, check, query, loads, the quarantine calls) uses ``engine``, already open, instead
    of opening and closing the file itself: DuckDB lets one process write the file, and
    inside it each thread gets its own cursor, so reads never wait for a run. The caller
    opened ``engine`` and closes it after the body."""
    key = project.warehouse_path.resolve()
    _SHARED[key] = engine
    try:
        yield
    finally:
        _SHARED.pop(key, None)


def shared_engine(project: Project) -> Any | None:
    """The engine :func:`shared_warehouse` put in place for ``project``'s warehouse; None
    (the common case: the CLI with no server) when each call opens its own."""
    if not _SHARED:
        return None
    return _SHARED.get(project.warehouse_path.resolve())


def has_warehouse(project: Project) -> bool:
    """Whether there is a warehouse to read: a database's URL always (its server answers
    for it), a file or folder once a run made it."""
    location = project.warehouse_location
    return isinstance(location, str) or location.exists()


def open_warehouse(project: Project, *, read_only: bool = False) -> Engine:
    """``project``'s warehouse opened with its ``[project]`` engine and settings (the
    caller closes it). WarehouseBusy when an exclusive engine's file is held elsewhere."""
    from headwater.engines import open_engine

    return open_engine(
        project.settings.project.engine,
        project.warehouse_location,
        read_only=read_only,
        memory_limit=project.settings.project.memory_limit,
        options=project.engine_options,
    )


@contextlib.contextmanager
def engine_for(project: Project, *, write: bool = False) -> Iterator[Engine]:
    """The engine a call uses: a server's (:func:`shared_warehouse`; used, never closed
    here), else ``project``'s warehouse opened for the body (read-only unless ``write``:
    then made if missing) and closed after. HeadwaterError when there is no warehouse to
    read yet; WarehouseBusy naming the run while another process holds an exclusive one."""
    shared = shared_engine(project)
    if shared is not None:
        yield shared
        return
    if not write and not has_warehouse(project):
        raise HeadwaterError(
            f"{project.warehouse_path}: no warehouse yet (run `headwater run` first)"
        )
    with warehouse_in_use(project):
        engine = open_warehouse(project, read_only=not write)
    try:
        yield engine
    finally:
        engine.close()


@contextlib.contextmanager
def shared_metastore(project: Project, store: Metastore) -> Iterator[None]:
    """While the body runs, every API call that reads ``project``'s metastore in this
    process (runs, show, the grid, the overview, the graph, an asset's page, a run's page,
    partitions, backfill progress) uses ``store``, already open, instead of opening its own:
    an open costs a SQLAlchemy engine and a schema check (~7 ms of CPU) where ``runs(20)``
    on an open store costs 0.5 ms. A Metastore is shared by threads (its README). The
    caller opened ``store`` and closes it after the body."""
    key = project.metastore_url
    _STORES[key] = store
    try:
        yield
    finally:
        _STORES.pop(key, None)


@contextlib.contextmanager
def metastore(project: Project) -> Iterator[Metastore]:
    """``project``'s metastore for the body: the one :func:`shared_metastore` put in place
    (left open), else opened here and closed after the body (the CLI: one call, one open)."""
    shared = _STORES.get(project.metastore_url) if _STORES else None
    if shared is not None:
        yield shared
        return
    from headwater.metastore import Metastore

    with Metastore.open(project.metastore_url) as store:
        yield store


def open_project(path: str | os.PathLike[str], *, discover: bool = False) -> Project:
    """Load the project in folder ``path``, every model's SQL checked by the warehouse's
    parser (a model DuckDB would reject fails here, before anything runs).

    ``discover``: sources declared ``tables = ["*"]`` whose tables were never listed are
    listed first (connecting to their databases); without it they have no assets yet.
    Raises ProjectError (and its subclasses); ConnectionError_ when discovery cannot connect.
    """
    root = Path(path)
    if discover:
        _discover_missing(root)
    from headwater.engines import sql_validator
    from headwater.project import load_project

    return load_project(root, sql_validator=sql_validator(engine_of(root)))


def engine_of(root: Path) -> str:
    """The ``[project] engine`` of the project at ``root``: its SQL is checked for it (a
    construct that engine would answer differently fails the load, at its line). Without
    a ``headwater.toml``, DuckDB's: loading the project then says what is missing."""
    from headwater.config.settings import load_settings

    toml = root / "headwater.toml"
    return load_settings(toml).project.engine if toml.is_file() else "duckdb"


def _discover_missing(root: Path) -> None:
    """List the tables of wildcard sources never listed yet."""
    from headwater.config.settings import load_settings

    toml = root / "headwater.toml"
    settings = load_settings(toml) if toml.is_file() else None
    # the connectors (and pyarrow) load only for a project with wildcard sources
    if settings is None or not any(s.tables == ["*"] for s in settings.sources.values()):
        return
    from headwater.sources.discover import discover, needs_discovery

    missing = needs_discovery(root.resolve(), settings)
    if missing:
        discover(root.resolve(), settings, missing)


def as_project(project: ProjectLike, *, discover: bool = False) -> Project:
    """``project`` itself, or the project opened from that folder (:func:`open_project`)."""
    if isinstance(project, Project):
        return project
    return open_project(project, discover=discover)


@dataclass(frozen=True)
class Selection:
    """What a run runs: ``names`` in execution order, from the selectors ``include`` and
    ``exclude`` (a pipeline's own selectors appended to the caller's)."""

    names: list[str]
    include: list[str]
    exclude: list[str]
    pipeline: str | None = None


def selection(
    project: Project,
    select: list[str] | None = None,
    exclude: list[str] | None = None,
    pipeline: str | None = None,
) -> Selection:
    """The steps a run of ``select`` minus ``exclude`` (all by default), in a ``pipeline``
    of headwater.toml when named, would run. Raises ProjectError for an unknown pipeline,
    SelectionError for a selector that matches nothing."""
    from headwater.project import select as do_select

    include, skip = list(select or []), list(exclude or [])
    if pipeline is not None:
        pipes = project.settings.pipelines
        if pipeline not in pipes:
            have = ", ".join(pipes) or "none"
            raise ProjectError(f"no pipeline {pipeline!r} in headwater.toml (have: {have})")
        include, skip = include + pipes[pipeline].select, skip + pipes[pipeline].exclude
    return Selection(do_select(project.graph, include, skip), include, skip, pipeline)


def source_asset(project: Project, name: str, *, loaded: bool = False) -> Asset:
    """The source asset called ``name`` (its full or short name); UnknownAssetError if none.
    ``loaded``: also the other steps recorded in ``_headwater.loads`` (exports, syncs)."""
    kinds = ("source", "export", "sync") if loaded else ("source",)
    found = [a for a in project.graph if a.kind in kinds and name in (a.name, a.short_name)]
    if not found:
        raise UnknownAssetError(f"no source asset {name!r} (see `headwater graph`)")
    return found[0]


@contextlib.contextmanager
def warehouse_in_use(project: Project) -> Iterator[None]:
    """Re-raise a :class:`WarehouseBusy` of the body naming the run that holds the warehouse
    (``run X (PID n)``), or the process when no running run has that PID. DuckDB lets one
    process write the file, or several read it, never both: the metastore records each
    running run's PID, so the message says which run to wait for."""
    try:
        yield
    except WarehouseBusy as exc:
        holder = _holder(project, exc.pid)
        message = f"{exc.path}: the warehouse is in use by {holder}; try again when it is done"
        raise WarehouseBusy(message, path=exc.path, pid=exc.pid) from None


def _holder(project: Project, pid: int | None) -> str:
    """``run X (PID n)``, ``another process (PID n)`` or ``another process``."""
    if pid is None:
        return "another process"
    from headwater.metastore import Metastore

    run_id = None
    # best effort: the message stands without the run's id (no metastore, a locked one)
    with contextlib.suppress(Exception):
        with Metastore.open(project.metastore_url, busy_timeout_s=2.0) as store:
            running = [r for r in store.runs(100) if r.status == "running" and r.pid == pid]
        run_id = running[0].run_id if running else None
    return f"run {run_id} (PID {pid})" if run_id else f"another process (PID {pid})"
