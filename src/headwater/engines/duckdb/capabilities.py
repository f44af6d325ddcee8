"""What DuckDB can do for Headwater."""

from importlib.util import find_spec

from headwater.engines.base import Capabilities

# DuckDB reads these databases itself when their extension's wheel is installed (offline:
# the extension file ships in the wheel; see headwater.engines.duckdb.database_scan)
EXTENSION_WHEELS = {
    "postgres": ("duckdb_extension_postgres_scanner", "postgres_scanner"),
    "sqlite": ("duckdb_extension_sqlite_scanner", "sqlite_scanner"),
}

CAPABILITIES = Capabilities(
    dialect="duckdb",
    transactional_ddl=True,
    native_file_scan=frozenset({"csv", "jsonl", "parquet"}),
    merge=True,
    concurrent_writers=True,  # optimistic MVCC: different tables from different cursors
    interruptible=True,
    transactions=True,
    relation_type="duckdb.DuckDBPyRelation",
    files_out=True,  # COPY ... TO (files_out.py)
    object_store=True,  # httpfs (object_store.py)
    sync_diff=True,  # sync_diff.py
    exclusive_process=True,  # the file's lock: one writing process, or readers only
    local_file=True,
    database_scan=frozenset(
        kind for kind, (wheel, _) in EXTENSION_WHEELS.items() if find_spec(wheel)
    ),
)
