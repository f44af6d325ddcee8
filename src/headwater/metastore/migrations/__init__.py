"""Alembic environment of the metastore, run programmatically by ``Metastore.open``.

There is no ``alembic.ini``: :mod:`headwater.metastore.database` builds the
configuration in code with ``script_location`` pointing at this folder.

:data:`HEAD_REVISION` lets ``Metastore.open`` see that a database is current with one plain
query, without importing Alembic (slow). Keep it equal to the newest revision in ``versions/``;
a test fails when they differ.
"""

from __future__ import annotations

from pathlib import Path

HEAD_REVISION = "0007"

SCRIPT_LOCATION = Path(__file__).resolve().parent
