"""File sources: CSV, JSON lines and Parquet, read by the engine itself from a glob.

Incremental by file: the state remembers each loaded file's size and modification time; a
run reads only new or changed files (``replace`` always reads them all). Bad CSV lines and
malformed JSON lines (:mod:`.json_lines`) are recorded with file and line
(``on_bad_line = "skip_and_record"``) or fail the load (``"fail"``).
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from headwater.config.settings import SourceSettings
from headwater.engines.duckdb.sql import string as sql_string
from headwater.errors import SourceError
from headwater.sources import json_lines

_FORMAT_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}


@dataclass(frozen=True)
class FileScan:
    files: list[str]  # relative to the project root
    scan_sql: str | None  # None when there is nothing new
    rejects_sql: str | None
    state: dict[str, Any]


def file_format(settings: SourceSettings) -> str:
    if settings.format:
        return settings.format
    pattern = (settings.files or "").removesuffix(".gz")
    for suffix, fmt in _FORMAT_BY_SUFFIX.items():
        if pattern.endswith(suffix):
            return fmt
    raise SourceError(f"files {settings.files!r}: cannot tell the format; set format = ...")


def plan_scan(
    settings: SourceSettings, root: Path, state: dict[str, Any], *, reject_table: str
) -> FileScan:
    """Which files to read and the SELECT that reads them."""
    assert settings.files is not None
    pattern = settings.files if Path(settings.files).is_absolute() else str(root / settings.files)
    matched = sorted(p for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
    seen: dict[str, list[int]] = dict(state.get("files", {}))
    current: dict[str, list[int]] = {}
    for path in matched:
        st = Path(path).stat()
        current[_rel(path, root)] = [st.st_size, st.st_mtime_ns]
    if settings.write == "replace":
        todo = list(current)
        new_state: dict[str, Any] = {"files": current}
    else:
        todo = [f for f, sig in current.items() if seen.get(f) != sig]
        new_state = {"files": {**seen, **current}}
    if not todo:
        return FileScan([], None, None, new_state)
    absolute = [str(root / f) if not Path(f).is_absolute() else f for f in todo]
    fmt = file_format(settings)
    listing = "[" + ", ".join(sql_string(p) for p in absolute) + "]"
    strip = sql_string(str(root) + "/")
    rejects_sql = None
    if fmt == "csv":
        opts = ["all_varchar = true", f"header = {str(settings.header).lower()}", "filename = true"]
        if settings.delimiter:
            opts.append(f"delim = {sql_string(settings.delimiter)}")
        if settings.quote:
            opts.append(f"quote = {sql_string(settings.quote)}")
        if settings.encoding:
            opts.append(f"encoding = {sql_string(settings.encoding)}")
        if settings.column_types:
            types = ", ".join(
                f"{sql_string(k)}: {sql_string(v)}" for k, v in settings.column_types.items()
            )
            opts.append("types = {" + types + "}")
        if settings.null:
            opts.append("nullstr = [" + ", ".join(sql_string(n) for n in settings.null) + "]")
        # bad lines are always captured; "fail" turns the first into an error after the scan
        opts += [
            "store_rejects = true",
            f"rejects_table = '{reject_table}_e'",
            f"rejects_scan = '{reject_table}_s'",
        ]
        rejects_sql = (
            f"select replace(s.file_path, {strip}, '') as file, e.line, "
            f'min(e.column_name) as "column", '
            f"string_agg(distinct e.error_type::varchar || ': ' || e.error_message, '; ') as error, "
            f"min(e.csv_line) as raw from {reject_table}_e e join {reject_table}_s s "
            f"using (scan_id, file_id) group by all order by file, line"
        )
        reader = f"read_csv({listing}, {', '.join(opts)})"
    elif fmt == "jsonl":
        # strict: a malformed line fails the scan, and json_lines.py takes over
        return FileScan(todo, _json_scan(root, todo, {}), None, new_state)
    else:
        reader = f"read_parquet({listing}, filename = true)"
    scan_sql = (
        f"select * exclude (filename), replace(filename, {strip}, '') as _hw_file from {reader}"
    )
    return FileScan(todo, scan_sql, rejects_sql, new_state)


def without_bad_json_lines(
    scan: FileScan, root: Path, folder: Path
) -> tuple[FileScan, list[json_lines.BadLine]]:
    """``scan`` (JSON lines) reading, for each file with malformed lines, a copy of its good
    lines, with the bad lines as its rejected rows (see :mod:`.json_lines`); and the bad
    lines (none: the files are all well-formed, the failure was something else)."""
    bad = json_lines.bad_lines(root, scan.files)
    if not bad:
        return scan, []
    copies, rejects = json_lines.set_aside(root, bad, folder)
    rejects_sql = (
        f'select file, line, null::varchar as "column", error, raw from read_json('
        f"{sql_string(str(rejects))}, format = 'newline_delimited', "
        "columns = {file: 'VARCHAR', line: 'BIGINT', error: 'VARCHAR', raw: 'VARCHAR'})"
    )
    return replace(
        scan, scan_sql=_json_scan(root, scan.files, copies), rejects_sql=rejects_sql
    ), bad


def _json_scan(root: Path, files: list[str], copies: dict[str, Path]) -> str:
    """The SELECT over JSON-lines ``files``, reading ``copies`` in place of some of them;
    ``_hw_file`` names the original either way."""
    paths = [str(copies.get(f) or (f if Path(f).is_absolute() else root / f)) for f in files]
    listing = "[" + ", ".join(sql_string(p) for p in paths) + "]"
    origin = f"replace(filename, {sql_string(str(root) + '/')}, '')"
    if copies:
        cases = " ".join(
            f"when {sql_string(str(copy))} then {sql_string(name)}" for name, copy in copies.items()
        )
        origin = f"case filename {cases} else {origin} end"
    reader = f"read_json({listing}, format = 'newline_delimited', filename = true)"
    return f"select * exclude (filename), {origin} as _hw_file from {reader}"


def _rel(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path
