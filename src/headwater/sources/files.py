"""File sources: CSV, JSON lines and Parquet, read by the engine itself from a glob.

Incremental by file: the state remembers each loaded file's size and modification time; a
run reads only new or changed files (``replace`` always reads them all). Bad CSV lines and
malformed JSON lines (:mod:`.json_lines`) are recorded with file and line
(``on_bad_line = "skip_and_record"``) or fail the load (``"fail"``).

Nothing is changed silently: a glob that matches no file is an error unless
``allow_empty`` (:func:`no_match`); an empty (0-byte) CSV file is skipped and named
(:attr:`FileScan.empty`); folder keys (``month=01/``) become columns only when every file's
path has the same keys (or ``hive_partitioning = true``), and a key that is also a column
of the files is refused, never allowed to replace the file's own values
(:attr:`FileScan.probe_sql`).
"""

from __future__ import annotations

import glob
import gzip
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from headwater.config.settings import SourceSettings
from headwater.engines.duckdb.sql import string as sql_string
from headwater.errors import SourceError
from headwater.sources import json_lines, storage

# DuckDB's default max_line_size (its error says "Maximum line size of 2000000 bytes")
MAX_LINE_SIZE = 2_000_000
# the probe of the files' own columns: no folder keys, and bad lines (which the load
# records or refuses) skipped, lest they hide the columns and with them a clash
_PROBE = "hive_partitioning = false, ignore_errors = true"


@dataclass(frozen=True)
class FileScan:
    files: list[str]  # relative to the project root: the new or changed files to read
    scan_sql: str | None  # None when there is nothing new
    rejects_sql: str | None
    state: dict[str, Any]
    matched: int = 0  # files the glob matches, read before or not, empty or not
    empty: list[str] = field(default_factory=list)  # 0-byte CSV files, skipped
    folder_keys: tuple[str, ...] = ()  # key=value folders read as columns
    # the files' own columns (no folder keys, no rows): checked against folder_keys
    probe_sql: str | None = None


def file_format(settings: SourceSettings) -> str:
    fmt = settings.file_format()
    if fmt is None:  # refused when the project loads; kept for settings built in code
        raise SourceError(f"files {settings.files!r}: cannot tell the format; set format = ...")
    return fmt


def plan_scan(
    settings: SourceSettings,
    root: Path,
    state: dict[str, Any],
    *,
    reject_table: str,
    access: storage.S3Access | None = None,
) -> FileScan:
    """Which files to read and the SELECT that reads them; ``s3://`` globs list the
    bucket through ``access`` (:mod:`.storage`)."""
    assert settings.files is not None
    fmt = file_format(settings)
    matched = storage.listing(settings.files, root, access)
    seen: dict[str, list[Any]] = dict(state.get("files", {}))
    current: dict[str, list[Any]] = {}
    urls: dict[str, str] = {}
    empty: list[str] = []
    for item in matched:
        if fmt == "csv" and _is_empty(item):
            # DuckDB would misread the header of the next file (or fail naming a column):
            # not remembered, so it is named again each run until it holds data
            empty.append(item.name)
            continue
        current[item.name] = item.signature
        urls[item.name] = item.url
    if settings.write == "replace":
        todo = list(current)
        new_state: dict[str, Any] = {"files": current}
    else:
        todo = [f for f, sig in current.items() if storage.changed(seen.get(f), sig)]
        new_state = {"files": {**seen, **current}}
    nothing = FileScan([], None, None, new_state, matched=len(matched), empty=empty)
    if not todo:
        return nothing
    keys = folder_keys(todo, settings.hive_partitioning)
    absolute = [urls[f] for f in todo]
    listing = "[" + ", ".join(sql_string(p) for p in absolute) + "]"
    strip = sql_string(str(root) + "/")
    hive = f"hive_partitioning = {str(bool(keys)).lower()}"
    rejects_sql = None
    if fmt == "csv":
        opts = [*_csv_options(settings), "filename = true"]
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
        reader = f"read_csv({listing}, {', '.join(opts)}, {hive})"
        probe = f"read_csv({listing}, {', '.join(_csv_options(settings))}, {_PROBE})"
    elif fmt == "jsonl":
        # strict: a malformed line fails the scan, and json_lines.py takes over
        scan = _json_scan(root, todo, {}, hive=bool(keys))
        probe = f"read_json({listing}, format = 'newline_delimited', {_PROBE})"
        return replace(nothing, files=todo, scan_sql=scan, **_probe(keys, probe))
    else:
        reader = f"read_parquet({listing}, filename = true, {hive})"
        probe = f"read_parquet({listing}, hive_partitioning = false)"
    scan_sql = (
        f"select * exclude (filename), replace(filename, {strip}, '') as _hw_file from {reader}"
    )
    found = replace(nothing, files=todo, scan_sql=scan_sql, rejects_sql=rejects_sql)
    return replace(found, **_probe(keys, probe))


def _probe(keys: tuple[str, ...], reader: str) -> dict[str, Any]:
    if not keys:
        return {}
    return {"folder_keys": keys, "probe_sql": f"select * from {reader} limit 0"}


def _csv_options(settings: SourceSettings) -> list[str]:
    """read_csv's options for the source's CSV settings (every column VARCHAR unless typed)."""
    opts = ["all_varchar = true", f"header = {str(settings.header).lower()}"]
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
    opts.append(f"max_line_size = {settings.max_line_size or MAX_LINE_SIZE}")
    return opts


def folder_keys(files: list[str], hive: bool | None) -> tuple[str, ...]:
    """The ``key=value`` folder names read as columns: none when ``hive`` is false; when it
    is unset, the keys every one of ``files`` has (the same for all, else none: DuckDB
    refuses files whose keys differ); when it is true, those of the first file.

    >>> folder_keys(["d/day=1/a.csv", "d/day=2/b.csv"], None)
    ('day',)
    >>> folder_keys(["d/day=1/a.csv", "d/b.csv"], None), folder_keys(["d/day=1/a.csv"], False)
    ((), ())
    """
    if hive is False:
        return ()
    found = [tuple(p.split("=", 1)[0] for p in Path(f).parent.parts if "=" in p) for f in files]
    if hive or len(set(found)) == 1:
        return found[0]
    return ()


def no_match(
    settings: SourceSettings,
    root: Path,
    empty: list[str],
    access: storage.S3Access | None = None,
) -> str:
    """Why a glob that found no file with data fails: the glob, the folder it looked in
    (and whether that folder exists; in S3 the prefix listed and the endpoint), the empty
    files skipped, and the way out."""
    assert settings.files is not None
    what = f"only empty files ({', '.join(empty)})" if empty else "no file"
    if settings.files.startswith(storage.S3):
        bucket, key = storage.split_s3(settings.files)
        endpoint = f" (endpoint {access.endpoint_url})" if access else ""
        prefix = storage.fixed_prefix(key)
        return (
            f"files {settings.files!r} match {what} under s3://{bucket}/{prefix}{endpoint}; "
            "set allow_empty = true if that is expected"
        )
    fixed = []
    for part in Path(settings.files).parent.parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    folder = (root / Path(*fixed)) if fixed else root
    where = f"in {folder}" + ("" if folder.is_dir() else " (no such folder)")
    return (
        f"files {settings.files!r} match {what} {where}; set allow_empty = true if that is expected"
    )


def declared_scan(settings: SourceSettings) -> str | None:
    """A SELECT of no rows with the columns the settings declare (CSV ``column_types``),
    to create the table of a source whose glob matches nothing yet (None: none declared)."""
    if settings.file_format() != "csv" or not settings.column_types:
        return None
    cols = [
        f"cast(null as {kind}) as {_quoted(name)}" for name, kind in settings.column_types.items()
    ]
    return f"select {', '.join(cols)}, null::varchar as _hw_file where false"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_empty(found: storage.StoredFile) -> bool:
    """No byte, or (a local ``.gz``) no byte once decompressed."""
    if found.size == 0:
        return True
    path = Path(found.url)
    if path.suffix != ".gz" or found.url.startswith(storage.S3):
        return False
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read(1) == b""
    except OSError:  # not gzip after all: the reader names the problem
        return False


def long_line(root: Path, files: list[str], limit: int) -> tuple[str, int, int] | None:
    """The first line longer than ``limit`` bytes in ``files`` (file, 1-based line, size),
    read line by line (``.gz`` decompressed). DuckDB names line 1 and no file for it."""
    for name in files:
        path = root / name
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as stream:
            for number, line in enumerate(stream, start=1):
                size = len(line.rstrip(b"\r\n"))
                if size > limit:
                    return name, number, size
    return None


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
    sql = _json_scan(root, scan.files, copies, hive=bool(scan.folder_keys))
    return replace(scan, scan_sql=sql, rejects_sql=rejects_sql), bad


def _json_scan(root: Path, files: list[str], copies: dict[str, Path], *, hive: bool = False) -> str:
    """The SELECT over JSON-lines ``files``, reading ``copies`` in place of some of them;
    ``_hw_file`` names the original either way."""
    paths = [str(copies.get(f) or (f if _located(f) else root / f)) for f in files]
    listing = "[" + ", ".join(sql_string(p) for p in paths) + "]"
    origin = f"replace(filename, {sql_string(str(root) + '/')}, '')"
    if copies:
        cases = " ".join(
            f"when {sql_string(str(copy))} then {sql_string(name)}" for name, copy in copies.items()
        )
        origin = f"case filename {cases} else {origin} end"
    reader = (
        f"read_json({listing}, format = 'newline_delimited', filename = true, "
        f"hive_partitioning = {str(hive).lower()})"
    )
    return f"select * exclude (filename), {origin} as _hw_file from {reader}"


def _located(name: str) -> bool:
    """Whether a file's name is already its location (absolute, or an ``s3://`` URL)."""
    return name.startswith(storage.S3) or Path(name).is_absolute()
