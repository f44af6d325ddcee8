"""Errors the metastore raises on purpose (cheap to import: no SQLAlchemy)."""

from __future__ import annotations

import errno

from headwater.errors import HeadwaterError

# how SQLite (SQLITE_FULL), PostgreSQL and the OS say that a write found the disk full
_FULL = ("database or disk is full", "no space left on device", "could not extend file")


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (a driver's error, wrapped or not) says the disk is full."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, OSError) and orig.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return True
    return any(words in str(exc).lower() for words in _FULL)


class MetastoreError(HeadwaterError):
    """The metastore cannot be opened or migrated (the message names it, password hidden)."""


class AmbiguousRunIdError(MetastoreError):
    """A run id prefix given to :meth:`Metastore.get_run` matches more than one run."""

    def __init__(self, prefix: str, matches: list[str]) -> None:
        self.prefix = prefix
        self.matches = matches
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        super().__init__(f"run id prefix {prefix!r} is ambiguous: it matches {shown}")
