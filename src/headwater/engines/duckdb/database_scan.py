"""A source table read by DuckDB itself, straight from the source database.

DuckDB's postgres extension reads a table with binary COPY on several connections that
share one snapshot (ranges of pages), and writes the rows straight into DuckDB's vectors:
no Arrow batch in between. ``postgres_scan_pushdown`` also sends the load's filters (the
cursor window) to the server. The extension's file ships in a PyPI wheel
(``duckdb-extension-postgres-scanner``), so it loads offline from the wheel's folder.
A SQLite file is read the same way by the sqlite extension (:mod:`.sqlite_scan`).

Contract:

- Nothing is attached to the warehouse: the scan is a table function with its own
  connections, so other cursors never see the source's catalog and a source server that
  dies cannot break their queries; the scan takes no part in the warehouse's COMMIT.
- ``scan_sql`` names the table :data:`~headwater.engines.base.SOURCE_TABLE`;
  :func:`scan_sql` puts the reader there. The result holds the password: it goes to
  DuckDB only, and errors go through the source's ``translate_error``, which removes it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path
from types import ModuleType

import duckdb

from headwater.engines.base import SOURCE_TABLE, DatabaseScan
from headwater.engines.duckdb import sqlite_scan
from headwater.engines.duckdb.capabilities import EXTENSION_WHEELS
from headwater.engines.duckdb.sql import string
from headwater.errors import EngineError

_lock = threading.Lock()  # one LOAD at a time
_READERS = {"postgres": "postgres_scan_pushdown"}


def extension_file(kind: str) -> Path:
    """The extension file the wheel for ``kind`` ships for this DuckDB version."""
    wheel, name = EXTENSION_WHEELS[kind]
    try:
        module = import_module(wheel)
    except ImportError:
        raise EngineError(
            f"reading {kind} from DuckDB needs the {wheel} wheel: pip install 'headwater[{kind}]'"
        ) from None
    found = wheel_extension(module, name)
    if found is None:
        raise EngineError(f"{wheel} holds no {name} extension for DuckDB {duckdb.__version__}")
    return found


def wheel_extension(module: ModuleType, name: str) -> Path | None:
    """The file of extension ``name`` in a ``duckdb-extension-*`` wheel's ``module``: the
    one built for this DuckDB version, else the newest it ships (None: there is none)."""
    base = Path(str(module.__file__)).parent / "extensions"
    exact = base / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if exact.exists():
        return exact
    found = sorted(base.glob(f"*/{name}.duckdb_extension"))
    return found[-1] if found else None


def load_extension(cur: duckdb.DuckDBPyConnection, kind: str) -> None:
    """LOAD the extension for ``kind`` into this database instance, once."""
    name = EXTENSION_WHEELS[kind][1]
    loaded = "select count(*) from duckdb_extensions() where extension_name = ? and loaded"
    with _lock:
        row = cur.execute(loaded, [name]).fetchone()
        if not (row and row[0]):
            cur.execute(f"load '{extension_file(kind).as_posix()}'")


def scan_sql(sql: str, scan: DatabaseScan) -> str:
    """``sql`` with :data:`SOURCE_TABLE` replaced by the reader of ``scan``.

    >>> s = DatabaseScan("postgres", "postgresql://u@h/d", "public", "t", Exception)
    >>> scan_sql("select * from _hw_source_table where id > 1", s)
    "select * from postgres_scan_pushdown('postgresql://u@h/d', 'public', 't') where id > 1"
    """
    if scan.kind == "sqlite":  # a file has no schema: uri is its path
        return sql.replace(SOURCE_TABLE, sqlite_scan.reader(scan.uri, scan.table))
    reader = _READERS[scan.kind]
    call = f"{reader}({string(scan.uri)}, {string(scan.schema)}, {string(scan.table)})"
    return sql.replace(SOURCE_TABLE, call)


@contextmanager
def source_session(cur: duckdb.DuckDBPyConnection, scan: DatabaseScan) -> Iterator[None]:
    """The cursor ready to read ``scan``: its extension loaded, and two session settings
    that come back afterwards (other cursors never see them):

    - ``TimeZone = 'UTC'``: a cursor's zone decides how a TIMESTAMPTZ literal without an
      offset (a cursor window's bound) reads; the Arrow path's sessions read them as UTC,
      and so does this one, whatever the machine's zone.
    - ``preserve_insertion_order = false``: a source table has no order to keep, and
      keeping the scan's order makes DuckDB buffer and merge the parallel ranges' row
      groups. Measured: a bare scan of 20M lineitem rows with a 256MB memory_limit,
      38.4 s instead of 59.6 s.
    - ``pg_use_ctid_scan = false`` for a selective window (:attr:`DatabaseScan.selective`):
      the parallel read splits the table into page ranges, and every range reads its
      pages whatever the filter; one query lets the server use an index on the cursor.
    - SQLite: :data:`.sqlite_scan.SESSION` (``sqlite_all_varchar`` off: a value that does
      not fit its column fails the scan instead of loading as text)."""
    load_extension(cur, scan.kind)
    settings = {"TimeZone": "'UTC'", "preserve_insertion_order": "false"}
    if scan.selective and scan.kind == "postgres":  # one COPY with the window: an index
        settings["pg_use_ctid_scan"] = "false"
    if scan.kind == "sqlite":
        settings.update(sqlite_scan.SESSION)
    saved = {}
    for name, value in settings.items():
        row = cur.execute(f"select current_setting('{name}')").fetchone()
        # an extension's setting never set reads NULL: reset it afterwards
        saved[name] = string(str(row[0])) if row and row[0] is not None else None
        cur.execute(f"set session {name} = {value}")
    try:
        yield
    finally:
        for name, old in saved.items():
            cur.execute(f"set session {name} = {old}" if old else f"reset session {name}")
