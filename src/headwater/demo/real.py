"""``headwater demo --databases real``: Europe in PostgreSQL, North America in MariaDB.

The generator writes each region as a SQLite file; this mode starts a local PostgreSQL and
MariaDB (loopback only, under ``<demo>/.headwater/servers``, stopped when the command ends),
copies the two regions' tables into them with the same columns and declared types, and points
the project's connections at them through ``${ENV}`` placeholders (the password never sits in
``headwater.toml``). The product catalog is served as a REST API (``catalog_api.py``) and
read by a REST source. Same data, same models: the answers must equal the embedded mode's.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SERVED = {"europe": "postgres", "north_america": "mariadb"}
ENV = {
    "postgres": ("HW_DEMO_PG_PORT", "HW_DEMO_PG_PASSWORD"),
    "mariadb": ("HW_DEMO_MY_PORT", "HW_DEMO_MY_PASSWORD"),
}


def _url(kind: str, database: str) -> str:
    port, password = ENV[kind]
    scheme = "postgresql" if kind == "postgres" else "mysql"
    return f"{scheme}://headwater:${{{password}}}@127.0.0.1:${{{port}}}/{database}"


def point_connections(root: Path) -> None:
    """Rewrite the two regions' connection URLs in the project's headwater.toml, and its
    catalog source to the catalog API."""
    from headwater.demo.catalog_api import point_catalog

    toml = root / "headwater.toml"
    text = point_catalog(toml.read_text(encoding="utf-8"))
    for region, kind in SERVED.items():
        text = re.sub(
            rf'(\[connections\.{region}\]\s*\nurl = )"[^"]*"', rf'\1"{_url(kind, region)}"', text
        )
    toml.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def servers(root: Path) -> Iterator[None]:
    """Start both servers and the catalog API, copy the regions into them, export the URL
    variables."""
    from headwater.demo.catalog_api import serve_catalog
    from headwater.testing.servers import MariaDBServer, PostgresServer

    base = root / ".headwater" / "servers"
    base.mkdir(parents=True, exist_ok=True)
    with (
        PostgresServer(base / "postgres") as pg,
        MariaDBServer(base / "mariadb") as my,
        serve_catalog(root),
    ):
        for kind, server in (("postgres", pg), ("mariadb", my)):
            os.environ[ENV[kind][0]] = str(server.port)
            os.environ[ENV[kind][1]] = server.password
        for region, kind in SERVED.items():
            server = pg if kind == "postgres" else my
            server.create_database(region)
            copy_region(root / "data" / f"{region}.sqlite", kind, server.url_for(region))
        yield


def copy_region(sqlite_path: Path, kind: str, url: str) -> None:
    """Mirror every table of a SQLite file into the server (replacing what is there)."""
    src = sqlite3.connect(sqlite_path)
    try:
        tables = [r[0] for r in src.execute("select name from sqlite_master where type = 'table'")]
        with _connect(kind, url) as dst:
            cur = dst.cursor()
            for table in tables:
                info = src.execute(f'pragma table_info("{table}")').fetchall()
                cols = ", ".join(f"{_q(kind, r[1])} {_type(kind, r[2])}" for r in info)
                cur.execute(f"drop table if exists {_q(kind, table)}")
                cur.execute(f"create table {_q(kind, table)} ({cols})")
                rows = src.execute(f'select * from "{table}"').fetchall()
                _insert(kind, cur, table, [r[1] for r in info], rows)
            dst.commit()
    finally:
        src.close()


def _insert(kind: str, cur: Any, table: str, names: list[str], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    collist = ", ".join(_q(kind, n) for n in names)
    if kind == "postgres":
        with cur.copy(f"copy {_q(kind, table)} ({collist}) from stdin") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join(["%s"] * len(names))
        for start in range(0, len(rows), 5000):
            cur.executemany(
                f"insert into {_q(kind, table)} ({collist}) values ({marks})",
                rows[start : start + 5000],
            )


def _type(kind: str, declared: str) -> str:
    upper = (declared or "TEXT").upper()
    if "INT" in upper:
        return "BIGINT"
    if "NUMERIC" in upper or "DECIMAL" in upper:
        return upper
    if "REAL" in upper or "DOUB" in upper or "FLOA" in upper:
        return "DOUBLE PRECISION" if kind == "postgres" else "DOUBLE"
    return "TEXT"


def _q(kind: str, name: str) -> str:
    return f'"{name}"' if kind == "postgres" else f"`{name}`"


@contextlib.contextmanager
def _connect(kind: str, url: str) -> Iterator[Any]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if kind == "postgres":
        import psycopg

        con: Any = psycopg.connect(
            host=parts.hostname,
            port=parts.port,
            user=parts.username,
            password=parts.password,
            dbname=parts.path.lstrip("/"),
        )
    else:
        import pymysql

        con = pymysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=parts.username or "",
            password=parts.password or "",
            database=parts.path.lstrip("/"),
            charset="utf8mb4",
        )
    try:
        yield con
    finally:
        con.close()
