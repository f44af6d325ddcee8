"""Load a file source: plan the scan (:mod:`.files`), refuse what would change data silently,
load, and name the file and line of what the warehouse's reader could not read.

- a glob that matches no file with data fails the step (:class:`SourceError`, exit 4) naming
  the glob and the folder it looked in; ``allow_empty = true`` lets it succeed, and creates
  the table with its declared columns (CSV ``column_types``) if it does not exist yet, so
  downstream models run. A glob that matches files already loaded is no error (nothing new);
- an empty CSV file is skipped with a warning naming it;
- a folder key (``month=01/``) that is also a column of the files is refused, on every
  engine: DuckDB's readers, which every engine's file loads use, would replace the file's
  own values with the folder's;
- a CSV line longer than ``max_line_size`` is named by file and line (DuckDB says line 1
  and no file), with the setting to raise;
- malformed JSON lines are refused or set aside (:mod:`.json_lines`).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from headwater.config.settings import SourceSettings
from headwater.engines.base import Engine, LoadRequest, LoadResult
from headwater.errors import SourceError
from headwater.sources.files import (
    MAX_LINE_SIZE,
    FileScan,
    declared_scan,
    file_format,
    long_line,
    no_match,
    plan_scan,
    without_bad_json_lines,
)
from headwater.sources.json_lines import MALFORMED
from headwater.sources.storage import S3Access, open_bucket

NOTHING = LoadResult(rows_read=0, rows_written=0, rows_rejected=0, cursor_max=None)


def load_files(
    engine: Engine,
    asset: str,
    base: LoadRequest,
    settings: SourceSettings,
    *,
    root: Path,
    state: dict[str, Any],
    log: logging.Logger,
    access: S3Access | None = None,
) -> LoadResult:
    """Load the new or changed files of ``settings.files`` into ``base``'s table; the rows
    and the new state commit together. ``access``: the S3 connection of an ``s3://`` glob."""
    assert settings.files is not None
    if access is not None:
        open_bucket(engine, settings.files, access)
    reject_table = f"_hw_rejects_{base.load_id}"
    scan = plan_scan(settings, root, state, reject_table=reject_table, access=access)
    for name in scan.empty:
        log.warning("%s: empty file (0 bytes of data), skipped: it holds no rows", name)
    if scan.matched == len(scan.empty):
        return _no_files(engine, asset, base, settings, root, scan, log, access)
    log.info("%d new or changed files of %s", len(scan.files), settings.files)
    if scan.scan_sql is None:
        return NOTHING
    _refuse_folder_keys_that_are_columns(engine, scan)
    request = replace(
        base,
        scan_sql=scan.scan_sql,
        rejects_sql=scan.rejects_sql,
        fail_on_reject=settings.on_bad_line == "fail",
        state=scan.state,
    )
    try:
        return engine.load(asset, request)
    except SourceError as exc:
        fmt = file_format(settings)
        if access is not None:  # the line-by-line diagnoses below read local files
            raise
        if fmt == "csv" and "CSV Error" in str(exc):
            _name_long_line(settings, root, scan.files)
        if fmt != "jsonl" or MALFORMED not in str(exc):
            raise
        retried = _load_without_bad_json_lines(engine, asset, request, scan, root)
        if retried is None:  # every line parses here: DuckDB's own words stand
            raise
        return retried


def _no_files(
    engine: Engine,
    asset: str,
    base: LoadRequest,
    settings: SourceSettings,
    root: Path,
    scan: FileScan,
    log: logging.Logger,
    access: S3Access | None,
) -> LoadResult:
    """The glob matches no file with data: an error, unless ``allow_empty``; then the table
    is created with its declared columns if it does not exist."""
    why = no_match(settings, root, scan.empty, access)
    if not settings.allow_empty:
        raise SourceError(f"{asset}: {why}")
    log.info("%s (allow_empty)", why)
    if engine.exists(base.schema, base.table):
        return NOTHING
    sql = declared_scan(settings)
    if sql is None:
        log.warning("%s: no table created: its columns are not declared (CSV: column_types)", asset)
        return NOTHING
    return engine.load(asset, replace(base, scan_sql=sql, state=scan.state))


def _refuse_folder_keys_that_are_columns(engine: Engine, scan: FileScan) -> None:
    """DuckDB replaces a file's column with a folder key of the same name (``month=01/``
    turns the file's ``1`` into ``01``): refuse the load instead, naming the key. The
    files' columns are read where the engine scans files (a PostgreSQL server cannot read
    them); only a SourceError, files that cannot be read, lets the load go on to name it."""
    if scan.probe_sql is None:
        return
    try:
        columns = set(engine.scan_columns(scan.probe_sql))
    except SourceError:  # unreadable files: the load names the file and line
        return
    clash = [key for key in scan.folder_keys if key in columns]
    if clash:
        example = next(f for f in scan.files if f"{clash[0]}=" in f)
        raise SourceError(
            f"{example}: folder key {clash[0]!r} is also a column of the file, whose values "
            "it would replace; rename the folder key, or set hive_partitioning = false to "
            "read no folder keys"
        )


def _name_long_line(settings: SourceSettings, root: Path, files: list[str]) -> None:
    """Raise the error naming the first line over ``max_line_size``, if there is one."""
    limit = settings.max_line_size or MAX_LINE_SIZE
    found = long_line(root, files, limit)
    if found is not None:
        name, line, size = found
        raise SourceError(
            f"{name}:{line}: the line is {size:,} bytes, over the maximum line size of "
            f"{limit:,} bytes; raise max_line_size (bytes) for this source"
        ) from None


def _load_without_bad_json_lines(
    engine: Engine, asset: str, request: LoadRequest, scan: FileScan, root: Path
) -> LoadResult | None:
    """The load again, after its strict scan failed on malformed JSON (which rolled it back
    whole): the bad lines named, then refused or set aside per ``on_bad_line``. None if no
    line is malformed by Python's parser."""
    with tempfile.TemporaryDirectory(prefix="headwater-json-") as folder:
        clean, bad = without_bad_json_lines(scan, root, Path(folder))
        if not bad:
            return None
        if request.fail_on_reject:
            first = bad[0]
            raise SourceError(
                f"{first.file}:{first.line}: malformed JSON: {first.error} (line: {first.raw!r})"
            ) from None
        return engine.load(
            asset, replace(request, scan_sql=clean.scan_sql, rejects_sql=clean.rejects_sql)
        )
