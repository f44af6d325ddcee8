"""Helpers shared by the PostgreSQL source tests (real server, real runtime)."""

from __future__ import annotations

from pathlib import Path
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


def orders_project(root: Path, url: str, transport: str) -> Path:
    """A project at ``root`` loading table ``orders`` (key ``id``, merged) from ``url`` with
    ``transport``; quick retries."""
    root.mkdir(parents=True)
    (root / "headwater.toml").write_text(
        f'[project]\nname = "orders"\nretry_delay = 0.05\n\n[connections.pg]\nurl = "{url}"\n\n'
        f'[sources.pg]\nconnection = "pg"\ntables = ["orders"]\nprimary_key = ["id"]\n'
        f'write = "merge"\ntransport = "{transport}"\n'
    )
    return root
