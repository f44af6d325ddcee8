"""Helpers shared by the PostgreSQL source tests (real server, real runtime)."""

from __future__ import annotations

from typing import Any

import psycopg


def pg(url: str, *statements: str) -> None:
    """Run ``statements`` on the PostgreSQL database at ``url`` (autocommit)."""
    with psycopg.connect(url, autocommit=True) as con:
        for sql in statements:
            con.execute(sql)


def pg_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` on the PostgreSQL database at ``url``."""
    with psycopg.connect(url, autocommit=True) as con:
        return con.execute(sql).fetchall()
