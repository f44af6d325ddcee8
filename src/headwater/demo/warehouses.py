"""``headwater demo --engine postgres``: the same project, its warehouse in PostgreSQL.

The demo's models and queries are written in the project's dialect (DuckDB's) with only
the constructs proven to answer alike on PostgreSQL, so the project does not change: its
``headwater.toml`` gets ``engine = "postgres"`` and a warehouse URL. The URL is either a
running server's database (``--warehouse postgresql://...``) or that of a PostgreSQL the
demo starts on loopback under ``<demo>/.headwater/servers/warehouse`` (the ``headwater``
test server, stopped when the command ends). Either way ``headwater.toml`` gets the URL
with its password replaced by ``${HW_DEMO_WAREHOUSE_PASSWORD}``: no password is written
to a file (export it to explore the warehouse afterwards).

Spark is not offered: the demo's SQL casts text to integers, numbers weekdays, truncates
dates and counts day differences, and none of these is proven on Spark yet
(``headwater.engines.constructs``), so the project would be refused when it loads.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from headwater.errors import HeadwaterError

ENGINES = ("duckdb", "postgres")
ENV = "HW_DEMO_WAREHOUSE_PASSWORD"
DATABASE = "shop"
_WAREHOUSE_LINE = re.compile(r'^(engine = "[^"]*"\n)?warehouse = "[^"]*"$', re.M)


def check_engine(engine: str) -> None:
    """One line naming the engines the demo runs on, for any other."""
    if engine not in ENGINES:
        raise HeadwaterError(f"--engine must be {' or '.join(ENGINES)}, not {engine!r}")


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
    toml = root / "headwater.toml"
    text = toml.read_text(encoding="utf-8")
    if not _WAREHOUSE_LINE.search(text):
        raise HeadwaterError(f"{toml}: no [project] warehouse line to point at {engine}")
    line = f'engine = "{engine}"\nwarehouse = "{url}"'
    toml.write_text(_WAREHOUSE_LINE.sub(lambda _: line, text, count=1), encoding="utf-8")


@contextlib.contextmanager
def warehouse(root: Path, engine: str, url: str | None) -> Iterator[str | None]:
    """The warehouse of the demo's run while the block runs, ``root``'s project pointed at
    it: for PostgreSQL ``url`` or a server started here (its URL); None for DuckDB."""
    check_engine(engine)
    if engine == "duckdb":
        if url is not None:
            raise HeadwaterError("--warehouse is a PostgreSQL URL: give it with --engine postgres")
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
