"""Errors the metastore raises on purpose (cheap to import: no SQLAlchemy)."""

from __future__ import annotations

from headwater.errors import HeadwaterError


class MetastoreError(HeadwaterError):
    """The metastore cannot be opened or migrated (the message names it, password hidden)."""


class AmbiguousRunIdError(MetastoreError):
    """A run id prefix given to :meth:`Metastore.get_run` matches more than one run."""

    def __init__(self, prefix: str, matches: list[str]) -> None:
        self.prefix = prefix
        self.matches = matches
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        super().__init__(f"run id prefix {prefix!r} is ambiguous: it matches {shown}")
