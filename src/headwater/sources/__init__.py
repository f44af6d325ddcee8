"""Extraction: read a source asset's new data as Arrow batches (or an engine-native scan) and
hand it to the engine with the state that describes it, so both commit together.

Connectors are chosen by URL scheme and declare what they can do in a
:class:`ConnectorCapabilities`; ``sqlite`` and files live here, PostgreSQL and MySQL follow
the same shape.
"""

from headwater.sources.connector import ConnectorCapabilities, connector_for
from headwater.sources.step import cancel_read, run_source

__all__ = ["ConnectorCapabilities", "cancel_read", "connector_for", "run_source"]
