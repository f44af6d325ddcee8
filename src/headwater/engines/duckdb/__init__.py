"""The embedded DuckDB warehouse."""

from headwater.engines.duckdb.capabilities import CAPABILITIES

__all__ = ["CAPABILITIES"]
