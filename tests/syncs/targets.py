"""Helpers of tests/syncs: the target databases (real PostgreSQL and MariaDB) and a project
whose model is rewritten between runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
import pymysql

from headwater.testing.cli import invoke, write_project

PASSWORD = "headwater-secret"  # the fixtures' password: never in an error or a log


class Target:
    """SQL on a test database, by URL (``postgresql://`` or ``mysql://``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.mysql = url.startswith("mysql")

    def execute(self, *statements: str) -> None:
        if self.mysql:
            con = self._my()
            try:
                with con.cursor() as cur:
                    for sql in statements:
                        cur.execute(sql)
                con.commit()
            finally:
                con.close()
            return
        with psycopg.connect(self.url, autocommit=True) as con:
            for sql in statements:
                con.execute(sql)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.mysql:
            con = self._my()
            try:
                with con.cursor() as cur:
                    cur.execute(sql)
                    return [tuple(r) for r in cur.fetchall()]
            finally:
                con.close()
        with psycopg.connect(self.url) as con:
            return [tuple(r) for r in con.execute(sql).fetchall()]

    def _my(self) -> Any:
        parts = urlsplit(self.url)
        return pymysql.connect(
            host=parts.hostname,
            port=parts.port or 3306,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            database=parts.path.lstrip("/"),
        )


def model_sql(rows: list[tuple[int, str, float]]) -> str:
    """A table model of ``rows`` (customer_id, name, score)."""
    values = ", ".join(f"({i}, '{n}', {s})" for i, n, s in rows)
    return (
        "-- headwater:\n--   materialized: table\n"
        f"select * from (values {values}) t(customer_id, name, score)\n"
    )


def make_project(root: Path, url: str, rows: list[tuple[int, str, float]], **sync: Any) -> Path:
    """A project whose model marts.customer_features holds ``rows``, synced by ``to_crm``."""
    table = "customer_features" if url.startswith("mysql") else "public.customer_features"
    settings = {"deletes": False, **sync}
    lines = [
        f'[connections.crm]\nurl = "{url}"\n',
        "[syncs.to_crm]",
        'model = "marts.customer_features"',
        'connection = "crm"',
        f'table = "{table}"',
        'key = ["customer_id"]',
        *(
            f"{k} = {str(v).lower() if isinstance(v, bool) else repr(v)}"
            for k, v in settings.items()
        ),
    ]
    return write_project(
        root,
        {
            "headwater.toml": "\n".join(lines) + "\n",
            "models/marts/customer_features.sql": model_sql(rows),
        },
    )


def set_model(root: Path, rows: list[tuple[int, str, float]]) -> None:
    (root / "models/marts/customer_features.sql").write_text(model_sql(rows))


def run(root: Path, *args: str) -> Any:
    return invoke("run", "-p", str(root), *args)


TARGET_DDL = (
    "create table customer_features (customer_id integer primary key, name varchar(40), "
    "score numeric(10,2), constraint score_nonneg check (score >= 0))"
)
