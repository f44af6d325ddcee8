"""Check declarations live in :mod:`headwater.project.checks` and are parsed by
:mod:`headwater.project.check_parser` (the project loader parses them, and ``project`` sits
below ``quality``); this module re-exports them."""

from headwater.project.check_parser import parse_checks
from headwater.project.checks import (
    CHECK_TYPES,
    ROW_LEVEL,
    TABLE_LEVEL,
    THIS,
    Check,
    Threshold,
    parse_duration,
    resolve_references,
    validate_columns,
)

__all__ = [
    "CHECK_TYPES",
    "ROW_LEVEL",
    "TABLE_LEVEL",
    "THIS",
    "Check",
    "Threshold",
    "parse_checks",
    "parse_duration",
    "resolve_references",
    "validate_columns",
]
