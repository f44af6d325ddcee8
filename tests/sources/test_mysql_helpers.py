"""Helpers shared by the MySQL/MariaDB source tests (real server, real runtime)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pymysql

from headwater.project import load_project
from headwater.runtime import run
from headwater.runtime.run import RunResult
from headwater.testing.cli import query_warehouse as warehouse


def connect(url: str, **kwargs: Any) -> pymysql.connections.Connection:
    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname,
        port=parts.port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")),
        charset="utf8mb4",
        autocommit=True,
        **kwargs,
    )


def execute(url: str, *statements: str, session_zone: str = "+00:00") -> None:
    con = connect(url, init_command=f"SET time_zone = '{session_zone}', sql_mode = ''")
    try:
        with con.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
    finally:
        con.close()


def project_toml(url: str, source: str, *, project: str = "") -> str:
    """headwater.toml with connection ``my`` at ``url`` and the ``[sources.my]`` lines."""
    return (
        f'[project]\nname = "mytest"\n{project}\n'
        f'[connections.my]\nurl = "{url}"\n\n'
        f'[sources.my]\nconnection = "my"\n{source}\n'
    )


def write_and_run(root: Path, toml: str | None = None) -> RunResult:
    if toml is not None:
        root.mkdir(parents=True, exist_ok=True)
        (root / "headwater.toml").write_text(toml)
    return run(load_project(root))


def raw_tables(root: Path) -> list[str]:
    path = root / ".headwater/warehouse.duckdb"
    if not path.exists():
        return []
    rows = warehouse(
        root, "select table_name from information_schema.tables where table_schema = 'raw'"
    )
    return [r[0] for r in rows]


def no_query_like(url: str, pattern: str, **kwargs: Any) -> bool:
    """Whether, within 10 s, no other session of the server at ``url`` runs a query like
    ``pattern`` (a killed or cancelled query may take a moment to go); ``kwargs`` go to
    :func:`connect` (TLS options)."""
    watcher = connect(url, **kwargs)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with watcher.cursor() as cur:
                cur.execute(
                    "select count(*) from information_schema.PROCESSLIST where "
                    "INFO like %s and ID <> CONNECTION_ID()",
                    (pattern,),
                )
                if cur.fetchone()[0] == 0:
                    return True
            time.sleep(0.1)
        return False
    finally:
        watcher.close()
