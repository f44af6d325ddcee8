"""``headwater demo --engine postgres``: the same project, its warehouse in PostgreSQL.

The demo's models and queries are written in the project's dialect (DuckDB's) with only
the constructs proven to answer alike on PostgreSQL, so the project does not change: its
``headwater.toml`` gets ``engine = "postgres"`` and a warehouse URL. The URL is either a
running server's database (``--warehouse postgresql://...``) or that of a PostgreSQL the
demo starts on loopback under ``<demo>/.headwater/servers/warehouse`` (the ``headwater``
test server, stopped when the command ends). Either way ``headwater.toml`` gets the URL
with its password replaced by ``${HW_DEMO_WAREHOUSE_PASSWORD}``: no password is written
to a file (export it to explore the warehouse afterwards).

``headwater demo --engine spark``: the project gets ``engine = "spark"`` and its warehouse
folder ``.headwater/spark-warehouse`` (Spark ``local[2]`` in the demo's process, its Hive
metastore in embedded Derby beside it). The demo's SQL renders for Spark through the
rewrites of ``headwater.engines.spark.rewrite``, each proven by a golden case.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from headwater.errors import HeadwaterError

ENGINES = ("duckdb", "postgres", "spark")
SPARK_WAREHOUSE = ".headwater/spark-warehouse"
ENV = "HW_DEMO_WAREHOUSE_PASSWORD"
DATABASE = "shop"
_WAREHOUSE_LINE = re.compile(r'^(engine = "[^"]*"\n)?warehouse = "[^"]*"$', re.M)


def check_engine(engine: str) -> None:
    """One line naming the engines the demo runs on, for any other."""
    if engine not in ENGINES:
        names = f"{', '.join(ENGINES[:-1])} or {ENGINES[-1]}"
        raise HeadwaterError(f"--engine must be {names}, not {engine!r}")


def point_warehouse(root: Path, engine: str, url: str) -> None:
    """Make the demo project at ``root`` keep its tables in ``engine`` at ``url``, its
    password (exported as ``${HW_DEMO_WAREHOUSE_PASSWORD}``) replaced by that placeholder.
    Done on every run: a server the demo starts may listen on another port each time."""
    check_engine(engine)
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise HeadwaterError("--warehouse must be a postgresql://[user[:password]@]host/db URL")
    if parts.password is not None:
        os.environ[ENV] = unquote(parts.password)
        user = f"{parts.username or ''}:${{{ENV}}}@"
        where = parts.netloc.rsplit("@", 1)[1]
        url = urlunsplit(parts._replace(netloc=user + where))
    _set_warehouse(root, engine, url)


def _set_warehouse(root: Path, engine: str, where: str) -> None:
    toml = root / "headwater.toml"
    text = toml.read_text(encoding="utf-8")
    if not _WAREHOUSE_LINE.search(text):
        raise HeadwaterError(f"{toml}: no [project] warehouse line to point at {engine}")
    line = f'engine = "{engine}"\nwarehouse = "{where}"'
    toml.write_text(_WAREHOUSE_LINE.sub(lambda _: line, text, count=1), encoding="utf-8")


@contextlib.contextmanager
def warehouse(root: Path, engine: str, url: str | None) -> Iterator[str | None]:
    """The warehouse of the demo's run while the block runs, ``root``'s project pointed at
    it: for PostgreSQL ``url`` or a server started here (its URL); None for DuckDB and
    Spark (a folder of the demo)."""
    check_engine(engine)
    if engine != "postgres":
        if url is not None:
            raise HeadwaterError("--warehouse is a PostgreSQL URL: give it with --engine postgres")
        if engine == "spark":
            _set_warehouse(root, engine, SPARK_WAREHOUSE)
        yield None
        return
    before = os.environ.get(ENV)
    with contextlib.ExitStack() as stack:
        if url is None:
            from headwater.testing.servers import PostgresServer

            where = root / ".headwater" / "servers" / "warehouse"
            url = stack.enter_context(PostgresServer(where)).create_database(DATABASE)
        try:
            point_warehouse(root, engine, url)
            yield url
        finally:
            if before is None:
                os.environ.pop(ENV, None)
            else:
                os.environ[ENV] = before
