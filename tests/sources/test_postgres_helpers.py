"""Helpers shared by the PostgreSQL source tests (real server, real runtime)."""

from __future__ import annotations

import psycopg


def pg(url: str, *statements: str) -> None:
    """Run ``statements`` on the PostgreSQL database at ``url`` (autocommit)."""
    with psycopg.connect(url, autocommit=True) as con:
        for sql in statements:
            con.execute(sql)
