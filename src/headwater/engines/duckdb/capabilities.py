"""What DuckDB can do for Headwater."""

from headwater.engines.base import Capabilities

CAPABILITIES = Capabilities(
    dialect="duckdb",
    transactional_ddl=True,
    native_file_scan=frozenset({"csv", "jsonl", "parquet"}),
    merge=True,
    concurrent_writers=True,  # optimistic MVCC: different tables from different cursors
    interruptible=True,
)
