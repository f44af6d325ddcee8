"""Read one SQL model file: its header settings, its statement and the tables it reads.

>>> sql = "with t as (select * from raw.orders) select * from t join stg_items using (id)"
>>> sorted(table_references(sql, path=None))
['raw.orders', 'stg_items']
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headwater.config.settings import ModelSettings, validate_model_settings
from headwater.config.textfile import load_yaml
from headwater.errors import SqlParseError
from headwater.project.sql_errors import PROJECT_DIALECT, SqlValidator, explain

DIALECT = PROJECT_DIALECT  # the SQL is parsed as written; engines render it for theirs
_HEADER = re.compile(r"^\s*--\s*headwater:\s*$")


@dataclass(frozen=True)
class SqlModelFile:
    """A parsed model file: the SELECT text, settings and referenced table names."""

    path: Path
    sql: str
    settings: ModelSettings
    references: frozenset[str]
    settings_path: Path  # where the settings came from (sidecar or the SQL file's header)
    settings_text: str
    settings_line: int  # first line of the settings in settings_path


def read_sql_model(
    path: Path,
    sidecar: Path | None,
    refs_cache: dict[str, Any] | None = None,
    *,
    validator: SqlValidator | None = None,
) -> SqlModelFile:
    """Parse ``path`` (and its sidecar YAML, when there is one).

    ``refs_cache`` maps a SQL text's digest to the tables it reads, and a header's digest
    (``yaml:<digest>``) to its YAML as JSON text: parsing is most of a project's load time,
    most files do not change between two loads, and many share the same header.
    ``validator`` is the engine's parser: SQL it rejects raises :class:`SqlParseError`
    (``file:line:column: why``). A text it accepted is cached under ``checked:<digest>``,
    so that it is checked once per content, and never trusted from a load without it.
    """
    text = path.read_text(encoding="utf-8")
    header, first_line = _header_yaml(text)
    data: dict[str, Any] = {}
    settings_text, settings_path, offset = "", path, 1
    if header is not None:
        parsed = _header_settings(path, header, first_line, refs_cache)
        data.update(parsed or {})
        settings_text, settings_path, offset = header, path, first_line
    if sidecar is not None:
        side_text = sidecar.read_text(encoding="utf-8")
        parsed = load_yaml(sidecar, side_text)
        if parsed is not None and not isinstance(parsed, dict):
            settings = validate_model_settings(parsed, path=sidecar, text=side_text)
        data.update(parsed or {})
        settings_text, settings_path, offset = side_text, sidecar, 1
    if data:
        settings = validate_model_settings(
            data, path=settings_path, text=settings_text, first_line=offset
        )
    else:
        settings = ModelSettings.model_validate({})
    sql = text.strip().rstrip(";").strip()
    if not sql or _only_comments(sql):
        raise SqlParseError(f"{path}:1:1: the model is empty (expected one SELECT statement)")
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()
    # checked for one target engine is not checked for another (its refusals differ)
    tag = getattr(validator, "cache_tag", "")
    key = f"checked{tag}:{digest}" if validator is not None else digest
    if refs_cache is not None and key in refs_cache:
        refs = frozenset(refs_cache[key])
    else:
        refs = frozenset(table_references(text, path=path, validator=validator))
        if refs_cache is not None:
            refs_cache[key] = sorted(refs)
    return SqlModelFile(path, sql, settings, refs, settings_path, settings_text, offset)


def _header_settings(path: Path, header: str, first_line: int, cache: dict[str, Any] | None) -> Any:
    """The header's YAML, parsed once per distinct header text (through ``cache``)."""
    key = "yaml:" + hashlib.sha1(header.encode("utf-8")).hexdigest()
    cached = cache.get(key) if cache is not None else None
    if isinstance(cached, str):
        return json.loads(cached)
    parsed = load_yaml(path, header, first_line=first_line)
    if cache is not None:
        try:
            as_json = json.dumps(parsed)
        except (TypeError, ValueError):  # e.g. a YAML date: not cached, parsed every time
            return parsed
        if json.loads(as_json) == parsed:
            cache[key] = as_json
    return parsed


def table_references(
    sql: str, *, path: Path | None, validator: SqlValidator | None = None
) -> set[str]:
    """Names of the tables a statement reads (``schema.table`` or ``table``), CTEs excluded.

    SQL the engine (``validator``; sqlglot's strict parse without one) rejects raises
    :class:`SqlParseError` located in ``sql``; SQL the engine accepts and sqlglot cannot
    parse strictly is read leniently (sqlglot repairs it) for its table names."""
    from sqlglot.errors import ErrorLevel

    problem = validator(sql) if validator is not None else None
    statements, error = _parse(sql, ErrorLevel.RAISE)
    if problem is not None or (validator is None and error is not None):
        raise SqlParseError(f"{path}:{explain(sql, problem, error)}")
    if error is not None:  # the engine accepts it; sqlglot only with repairs
        statements, error = _parse(sql, ErrorLevel.IGNORE)
        if error is not None:
            raise SqlParseError(
                f"{path}:1:1: Headwater cannot find the tables this SQL reads "
                f"({error['description']}); list them under depends_on"
            )
    return _references(_one_query(statements, path))


def _parse(sql: str, level: Any) -> tuple[list[Any], dict[str, Any] | None]:
    """sqlglot's statements of ``sql``, or its first error at error ``level``."""
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    try:
        return [s for s in sqlglot.parse(sql, dialect=DIALECT, error_level=level) if s], None
    except ParseError as exc:
        return [], (exc.errors[0] if exc.errors else {"description": str(exc)})
    except TokenError as exc:
        return [], {"description": f"a quoted string or name is never closed ({exc})"}


def _one_query(statements: list[Any], path: Path | None) -> Any:
    from sqlglot import exp

    if len(statements) != 1:
        raise SqlParseError(
            f"{path}:1:1: expected one SELECT statement, found {len(statements)} statements"
        )
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise SqlParseError(f"{path}:1:1: a model must be a SELECT, not {tree.key.upper()}")
    return tree


def _references(tree: Any) -> set[str]:
    from sqlglot import exp

    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    refs: set[str] = set()
    for table in tree.find_all(exp.Table):
        name = table.name
        if not name or (not table.db and name in ctes):
            continue
        if isinstance(table.this, exp.Func):  # Anonymous is a Func
            continue  # table functions: read_csv(...), range(...)
        refs.add(f"{table.db}.{name}" if table.db else name)
    return refs


def _header_yaml(text: str) -> tuple[str | None, int]:
    """The YAML of a ``-- headwater:`` header comment block, and the line it starts on."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        if not _HEADER.match(line):
            return None, 1
        body = ["headwater:"]
        for later in lines[index + 1 :]:
            stripped = later.strip()
            if not stripped.startswith("--"):
                break
            body.append("  " + later.split("--", 1)[1].rstrip()[1:])
        yaml_text = "\n".join(body)
        return _unwrap(yaml_text), index + 1
    return None, 1


def _unwrap(yaml_text: str) -> str:
    # "headwater:" then indented keys -> drop the wrapper and the common indentation
    body = yaml_text.splitlines()[1:]
    indents = [len(b) - len(b.lstrip()) for b in body if b.strip()]
    cut = min(indents) if indents else 0
    return "\n" + "\n".join(b[cut:] for b in body)


def _only_comments(sql: str) -> bool:
    return all(not ln.strip() or ln.strip().startswith("--") for ln in sql.splitlines())
