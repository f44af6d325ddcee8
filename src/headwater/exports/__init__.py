"""Exports: a model written to Parquet, CSV or JSON-lines files in a folder or S3, published
atomically through a manifest (``[exports.NAME]``, a step ``export.NAME`` of the graph)."""

from headwater.exports.step import run_export

__all__ = ["run_export"]
