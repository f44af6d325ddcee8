"""Where data lives and SQL runs. One folder per engine, same shape (``duckdb/`` today).

Invariant: what an engine can do is declared in its :class:`Capabilities`, never tested by
name elsewhere in the code.
"""

from headwater.engines.base import (
    Capabilities,
    Engine,
    LoadRequest,
    LoadResult,
    capabilities_of,
    open_engine,
    sql_validator,
)

__all__ = [
    "Capabilities",
    "Engine",
    "LoadRequest",
    "LoadResult",
    "capabilities_of",
    "open_engine",
    "sql_validator",
]
