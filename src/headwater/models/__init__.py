"""Transformation: build SQL and Python models in the engine."""

from headwater.models.compile import CompiledCache, compile_sql
from headwater.models.step import run_model

__all__ = ["CompiledCache", "compile_sql", "run_model"]
