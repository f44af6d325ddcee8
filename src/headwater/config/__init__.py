"""Settings and secrets: ``${ENV}`` interpolation, redaction, located parse errors.

Invariant: a secret read from the environment is never part of a message, a log line or the
metastore; use :func:`redact` before showing any URL.
"""

from headwater.config.secrets import interpolate, redact, redact_text
from headwater.config.settings import (
    ConnectionSettings,
    ModelSettings,
    PipelineSettings,
    ProjectSettings,
    SourceSettings,
    load_settings,
)
from headwater.config.textfile import load_toml, load_yaml, locate_key

__all__ = [
    "ConnectionSettings",
    "ModelSettings",
    "PipelineSettings",
    "ProjectSettings",
    "SourceSettings",
    "interpolate",
    "load_settings",
    "load_toml",
    "load_yaml",
    "locate_key",
    "redact",
    "redact_text",
]
