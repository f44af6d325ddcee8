"""Transformation: build SQL and Python models in the engine."""

from headwater.models.compile import compile_sql
from headwater.models.step import run_model

__all__ = ["compile_sql", "run_model"]
