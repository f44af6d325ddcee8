"""A SQLite source file read by DuckDB itself: the sqlite_scanner extension.

``sqlite_scan(path, table)`` reads the file straight into DuckDB's vectors, in rowid
ranges on several connections of its own (no Arrow batch, no Python row in between). The
extension's file ships in the PyPI wheel ``duckdb-extension-sqlite-scanner``, so it loads
offline (:mod:`.database_scan` loads it).

What it reads, checked by tests/sources/test_sqlite_native.py: a column's type comes from
its declared type by SQLite's affinity rules (INT -> BIGINT, CHAR/CLOB/TEXT -> VARCHAR,
REAL/FLOA/DOUB -> DOUBLE, ...), and a value of another storage class (a TEXT in an
INTEGER column, a REAL 2.5 there, a BLOB in a TEXT column) fails the scan with
"Mismatch Type Error", unless ``sqlite_all_varchar`` is on: :data:`SESSION` turns it off
for the load's cursor, whatever the session had.
"""

from __future__ import annotations

from headwater.engines.duckdb.sql import string

#: the session settings a SQLite scan needs (restored after the load by ``source_session``)
SESSION = {"sqlite_all_varchar": "false"}


def reader(path: str, table: str) -> str:
    """The table function reading ``table`` of the SQLite file at ``path``.

    >>> reader("/data/shop.sqlite", "orders")
    "sqlite_scan('/data/shop.sqlite', 'orders')"
    """
    return f"sqlite_scan({string(path)}, {string(table)})"
