"""REST API sources: endpoints declared in ``headwater.toml`` (``[sources.NAME.rest]``),
read with httpx into Arrow batches that load with their state in one transaction."""

from headwater.sources.rest.load import cancel, load_rest

__all__ = ["cancel", "load_rest"]
