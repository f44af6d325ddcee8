"""Load a project folder into a :class:`Project` (settings + :class:`Graph`).

Pure: reads files under the folder and imports its ``python/`` modules; opens no database.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headwater.config.secrets import interpolate, interpolate_url
from headwater.config.settings import (
    ConnectionSettings,
    ProjectSettings,
    SourceSettings,
    TableOptions,
    load_settings,
)
from headwater.config.textfile import locate_key
from headwater.config.triggers import check_trigger_assets
from headwater.errors import ConfigError, ProjectError, UnknownAssetError
from headwater.project.asset import Asset, SourceSpec
from headwater.project.check_parser import parse_checks
from headwater.project.checks import Check, resolve_references
from headwater.project.export_assets import export_assets
from headwater.project.graph import Graph
from headwater.project.python_assets import discover
from headwater.project.sql_errors import SqlValidator
from headwater.project.sql_model import read_sql_model

PROJECT_FILE = "headwater.toml"
STATE_DIR = ".headwater"
DISCOVERED = "discovered"  # tables listed by `headwater discover`, one JSON file per source


@dataclass(frozen=True)
class Project:
    """A loaded project: where it lives, its settings and its graph."""

    root: Path
    settings: ProjectSettings
    graph: Graph

    @classmethod
    def load(cls, root: Path | str = ".") -> Project:
        return load_project(Path(root))

    @property
    def name(self) -> str:
        return self.settings.project.name

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def warehouse_path(self) -> Path:
        # ${ENV} allowed: two servers of one project (one metastore) need a file each
        where = f"{self.root / 'headwater.toml'}: project.warehouse"
        path = Path(interpolate(self.settings.project.warehouse, where=where, secret=False))
        return path if path.is_absolute() else self.root / path

    @property
    def warehouse_location(self) -> Path | str:
        """Where the engine keeps its tables, as ``open_engine`` takes it: the file or folder
        of :attr:`warehouse_path`, or a database URL (``postgresql://...``, ``${ENV}`` for
        its password: the value is redacted wherever it would be shown)."""
        value = self.settings.project.warehouse
        if "://" not in value:
            return self.warehouse_path
        return interpolate_url(value, where=f"{self.root / 'headwater.toml'}: project.warehouse")

    @property
    def engine_options(self) -> dict[str, Any]:
        """What ``open_engine(options=...)`` takes from ``[project]`` besides the location:
        Spark's ``master`` and ``metastore_uri`` (other engines ignore them). Every command
        opening the warehouse passes them, so ``check`` or ``query`` on a Spark project runs
        where ``run`` does."""
        return {
            "master": self.settings.project.master,
            "metastore_uri": self.settings.project.metastore_uri,
        }

    @property
    def metastore_url(self) -> str:
        where = f"{self.root / 'headwater.toml'}: project.metastore"
        url = interpolate_url(self.settings.project.metastore, where=where)
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/"):
            return prefix + str((self.root / url[len(prefix) :]).resolve())
        return url

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    def connection(self, name: str) -> ConnectionSettings:
        return self.settings.connections[name]


def load_project(
    root: Path | str, *, sql_validator: SqlValidator | None = None, write_cache: bool = True
) -> Project:
    """Read ``root/headwater.toml``, models and Python modules; build and check the graph.

    ``sql_validator`` is the engine's parser (``headwater.engines.sql_validator``): a model
    whose SQL it rejects fails the load (without it, sqlglot's strict parse decides).
    ``write_cache=False`` leaves the folder untouched (no ``.headwater/`` parse cache)."""
    root = Path(root).resolve()
    toml_path = root / PROJECT_FILE
    if not toml_path.is_file():
        raise ProjectError(
            f"{root}: no {PROJECT_FILE} here (use -p DIR, or `headwater init DIR` to start one)"
        )
    settings = load_settings(toml_path)
    text = toml_path.read_text(encoding="utf-8")
    assets = _source_assets(settings, toml_path, text, root / STATE_DIR / DISCOVERED)
    cache_path = root / STATE_DIR / "cache" / "references.json"
    cache = _read_cache(cache_path)
    before = len(cache)
    assets += _sql_models(root, settings, cache, sql_validator)
    if len(cache) != before and write_cache:
        _write_cache(cache_path, cache)
    assets += _python_assets(root, settings)
    assets += _sync_assets(settings, toml_path, text)
    assets += export_assets(settings, toml_path, text)
    _check_unique(assets)
    resolved = _resolve(assets)
    check_trigger_assets(settings, {a.name: a.short_name for a in resolved}, toml_path, text)
    return Project(root=root, settings=settings, graph=Graph(resolved))


def discovered_tables(cache: Path, source: str) -> list[str] | None:
    """Tables of a wildcard source as last listed by ``headwater discover`` (None: never)."""
    path = cache / f"{source}.json"
    if not path.is_file():
        return None
    tables = json.loads(path.read_text(encoding="utf-8"))
    return [str(t) for t in tables]


def wildcard_tables(source: SourceSettings, listed: list[str]) -> list[str]:
    """Filter a connection's tables by the source's include / exclude patterns."""
    keep = [
        t
        for t in listed
        if not source.include or any(fnmatch.fnmatch(t, p) for p in source.include)
    ]
    return [t for t in keep if not any(fnmatch.fnmatch(t, p) for p in source.exclude)]


def _source_assets(
    settings: ProjectSettings, toml_path: Path, text: str, cache: Path
) -> list[Asset]:
    assets: list[Asset] = []
    for name, src in settings.sources.items():
        line = locate_key(text, ("sources", name))
        where = f"{toml_path}:{line}"
        if src.connection is not None and src.connection not in settings.connections:
            close = difflib.get_close_matches(src.connection, list(settings.connections), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(
                f"{where}: source {name!r}: unknown connection {src.connection!r}{hint}"
            )
        kinds = [bool(src.tables), src.query is not None, src.files is not None]
        kinds.append(src.rest is not None)
        kinds.append(src.kafka is not None)  # one asset, named after the source
        if sum(kinds) != 1:
            raise ConfigError(
                f"{where}: source {name!r}: give exactly one of tables, query, files, rest, kafka"
            )
        if src.rest is not None:
            assets += _rest_assets(name, src, toml_path, text, line)
            continue
        if (src.tables or src.query or src.kafka) and src.connection is None:
            raise ConfigError(
                f"{where}: source {name!r}: tables, query and kafka need a connection"
            )
        if src.write == "merge" and not src.primary_key and not src.table_options:
            raise ConfigError(f"{where}: source {name!r}: write = 'merge' needs a primary_key")
        unknown = set(src.table_options) - set(src.tables) if src.tables != ["*"] else set()
        if unknown:
            raise ConfigError(
                f"{where}: source {name!r}: table_options for unknown tables {sorted(unknown)}"
            )

        tables = src.tables
        if tables == ["*"]:
            listed = discovered_tables(cache, name)
            if listed is None:
                raise ProjectError(
                    f"{where}: source {name!r} takes every table of its connection; list them "
                    "with `headwater discover` (`headwater run` does it when needed)"
                )
            tables = wildcard_tables(src, listed)
        if tables:
            for table in tables:
                spec = SourceSpec(name, src, table, src.table_options.get(table))
                if spec.write == "merge" and not spec.primary_key:
                    raise ConfigError(
                        f"{where}: source {name!r} table {table!r}: merge needs a primary_key"
                    )
                named = table if src.table_names == "source" else f"{name}_{table}"
                asset = _source_asset(named, spec, toml_path, line)
                checks = _source_checks(
                    asset.name, src.checks, toml_path, text, ("sources", name, "checks")
                )
                if spec.options is not None and spec.options.checks:
                    key = ("sources", name, "table_options", table, "checks")
                    checks += _source_checks(asset.name, spec.options.checks, toml_path, text, key)
                assets.append(dataclasses.replace(asset, checks=checks))
        else:
            asset = _source_asset(name, SourceSpec(name, src), toml_path, line)
            checks = _source_checks(
                asset.name, src.checks, toml_path, text, ("sources", name, "checks")
            )
            assets.append(dataclasses.replace(asset, checks=checks))
    return assets


def _rest_assets(name: str, src: SourceSettings, path: Path, text: str, line: int) -> list[Asset]:
    """One asset per endpoint of a REST source, its keys as a table's overrides."""
    assert src.rest is not None
    assets = []
    for endpoint, ep in src.rest.endpoints.items():
        options = TableOptions(
            primary_key=ep.primary_key,
            cursor=ep.cursor,
            write=ep.write,
            initial_value=ep.initial_value,
        )
        spec = SourceSpec(name, src, endpoint, options)
        need = "merge" if spec.write in ("merge", "scd2") else None
        need = "nested = 'tables'" if src.rest.nested == "tables" else need
        if need and not spec.primary_key:
            raise ConfigError(
                f"{path}:{line}: source {name!r} endpoint {endpoint!r}: {need} needs a primary_key"
            )
        named = endpoint if src.table_names == "source" else f"{name}_{endpoint}"
        asset = _source_asset(named, spec, path, line)
        checks = _source_checks(asset.name, src.checks, path, text, ("sources", name, "checks"))
        assets.append(dataclasses.replace(asset, checks=checks))
    return assets


def _source_checks(
    asset: str, items: list[Any], path: Path, text: str, key: tuple[str, ...]
) -> tuple[Any, ...]:
    if not items:
        return ()
    return parse_checks(items, path=path, text=text, key=key, asset=asset, quarantine_allowed=True)


def _source_asset(table: str, spec: SourceSpec, path: Path, line: int) -> Asset:
    src = spec.settings
    return Asset(
        name=f"{src.schema_}.{table}",
        kind="source",
        schema=src.schema_,
        table=table,
        path=path,
        line=line,
        tags=(*src.tags, "source"),
        description=src.description,
        source=spec,
        retries=src.retries,
        retry_delay=src.retry_delay,
        timeout=src.timeout,
    )


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(path: Path, cache: dict[str, Any]) -> None:
    """Best effort (a read-only checkout still loads): the parse cache under .headwater/."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cache), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass


def _model_files(models_dir: Path) -> list[tuple[tuple[str, ...], Path, Path | None]]:
    """Every ``*.sql`` under ``models_dir`` (its path parts relative to it, its path, its
    sidecar ``.yml``/``.yaml`` if any), sorted by relative path. One directory walk: a stat
    per sidecar candidate and pathlib's sorting cost more than the walk on big projects."""
    found: list[tuple[tuple[str, ...], Path, Path | None]] = []
    for folder, dirs, files in os.walk(models_dir):
        dirs.sort()
        names = set(files)
        base = Path(folder)
        rel = base.relative_to(models_dir).parts
        for name in files:
            if not name.endswith(".sql"):
                continue
            stem = name[: -len(".sql")]
            side = next(
                (f"{stem}{ext}" for ext in (".yml", ".yaml") if f"{stem}{ext}" in names), None
            )
            found.append(((*rel, name), base / name, base / side if side else None))
    found.sort(key=lambda item: item[0])
    return found


def _sql_models(
    root: Path, settings: ProjectSettings, cache: dict[str, Any], validator: SqlValidator | None
) -> list[Asset]:
    models_dir = root / "models"
    assets: list[Asset] = []
    if not models_dir.is_dir():
        return assets
    for rel_parts, path, sidecar in _model_files(models_dir):
        layer = rel_parts[0] if len(rel_parts) > 1 else "main"
        parsed = read_sql_model(path, sidecar, cache, validator=validator)
        cfg = parsed.settings
        schema = cfg.schema_ or settings.schemas.get(layer, layer)
        table = path.stem
        checks: tuple[Check, ...] = ()
        if cfg.checks:
            checks = parse_checks(
                cfg.checks,
                path=parsed.settings_path,
                text=parsed.settings_text,
                first_line=parsed.settings_line,
                asset=f"{schema}.{table}",
            )
        assets.append(
            Asset(
                name=f"{schema}.{table}",
                kind="model",
                schema=schema,
                table=table,
                checks=checks,
                path=path,
                deps=tuple(sorted(parsed.references | set(cfg.depends_on))),
                tags=(*cfg.tags, layer),
                description=cfg.description,
                sql=parsed.sql,
                model=cfg,
                retries=cfg.retries,
                retry_delay=cfg.retry_delay,
                timeout=cfg.timeout,
            )
        )
    return assets


def _python_assets(root: Path, settings: ProjectSettings) -> list[Asset]:
    assets: list[Asset] = []
    for fn, decl, path, line in discover(root / "python"):
        import inspect

        cfg = decl.settings
        if decl.kind == "model":
            schema = cfg.schema_ or settings.schemas.get("marts", "marts")
            params = tuple(p for p in inspect.signature(fn).parameters)
            assets.append(
                Asset(
                    name=f"{schema}.{decl.name}",
                    kind="model",
                    schema=schema,
                    table=decl.name,
                    path=path,
                    line=line,
                    deps=tuple(params) + tuple(cfg.depends_on),
                    params=params,
                    tags=(*cfg.tags, "python"),
                    description=cfg.description or (fn.__doc__ or "").strip(),
                    function=fn,
                    model=cfg,
                    retries=cfg.retries,
                    retry_delay=cfg.retry_delay,
                    timeout=cfg.timeout,
                    checks=parse_checks(
                        cfg.checks,
                        path=path,
                        text="",
                        first_line=line,
                        asset=f"{schema}.{decl.name}",
                    )
                    if cfg.checks
                    else (),
                )
            )
        else:
            assets.append(
                Asset(
                    name=decl.name,
                    kind="task",
                    schema=None,
                    table=None,
                    path=path,
                    line=line,
                    deps=decl.depends_on + tuple(cfg.depends_on),
                    tags=(*cfg.tags, "task"),
                    description=cfg.description or (fn.__doc__ or "").strip(),
                    function=fn,
                    model=cfg,
                    retries=cfg.retries,
                    retry_delay=cfg.retry_delay,
                    timeout=cfg.timeout,
                    warehouse=decl.warehouse,
                )
            )
    return assets


SYNC_SCHEMES = ("postgresql", "postgres", "mysql", "mariadb")


def _sync_assets(settings: ProjectSettings, toml_path: Path, text: str) -> list[Asset]:
    """One step ``sync.<name>`` per ``[syncs.<name>]``, downstream of its model (resolved
    with the other references); its connection must be a PostgreSQL or MySQL/MariaDB one."""
    assets = []
    for name, cfg in settings.syncs.items():
        line = locate_key(text, ("syncs", name))
        conn = settings.connections.get(cfg.connection)
        if conn is None:
            close = difflib.get_close_matches(cfg.connection, list(settings.connections), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(
                f"{toml_path}:{line}: sync {name!r}: unknown connection {cfg.connection!r}{hint}"
            )
        scheme = conn.url.split(":", 1)[0].split("+", 1)[0].lower()
        if scheme not in SYNC_SCHEMES:
            raise ConfigError(
                f"{toml_path}:{line}: sync {name!r}: connection {cfg.connection!r} is {scheme}; "
                "syncs write to PostgreSQL or MySQL/MariaDB"
            )
        assets.append(
            Asset(
                name=f"sync.{name}",
                kind="sync",
                schema=None,
                table=None,
                path=toml_path,
                line=line,
                deps=(cfg.model,),
                tags=(*cfg.tags, "sync"),
                description=cfg.description,
                sync=cfg,
                retries=cfg.retries,
                retry_delay=cfg.retry_delay,
                timeout=cfg.timeout,
            )
        )
    return assets


def _check_unique(assets: list[Asset]) -> None:
    seen: dict[str, Asset] = {}
    for asset in assets:
        if asset.name in seen:
            raise ConfigError(
                f"{asset.location}: asset {asset.name!r} is already defined at {seen[asset.name].location}"
            )
        seen[asset.name] = asset


def _resolve(assets: list[Asset]) -> list[Asset]:
    """Turn the names a model (or a relationships check) reads into asset names."""

    by_name = {a.name: a for a in assets}
    by_short: dict[str, list[str]] = {}
    for a in assets:
        by_short.setdefault(a.short_name, []).append(a.name)
    out = []

    def resolve(asset: Asset, ref: str, what: str) -> str:
        if ref in by_name:
            return ref
        if "." not in ref and len(by_short.get(ref, [])) == 1:
            return by_short[ref][0]
        if "." not in ref and len(by_short.get(ref, [])) > 1:
            raise UnknownAssetError(
                f"{asset.location}: {asset.name} {what} {ref!r}, which is ambiguous: "
                f"{', '.join(sorted(by_short[ref]))}; qualify it with its schema"
            )
        names = sorted(set(by_name) | set(by_short))
        close = difflib.get_close_matches(ref, names, n=3, cutoff=0.6)
        hint = f"; closest: {', '.join(close)}" if close else ""
        raise UnknownAssetError(
            f"{asset.location}: {asset.name} {what} unknown asset {ref!r}{hint}"
        )

    for asset in assets:
        deps: list[str] = []
        for ref in asset.deps:
            target = resolve(asset, ref, "reads")
            if target != asset.name and target not in deps:  # incremental models read themselves
                deps.append(target)
        checks = asset.checks
        if any(c.references for c in checks):
            checks = resolve_references(
                checks,
                lambda ref, a=asset: resolve(a, ref, "checks a relationship to"),  # type: ignore[misc]
            )
            for check in checks:
                deps += [r for r in check.references if r != asset.name and r not in deps]
        out.append(dataclasses.replace(asset, deps=tuple(deps), checks=checks))
    return out
