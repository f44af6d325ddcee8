"""One project, any warehouse engine: write it for DuckDB, PostgreSQL or Spark, run it
in-process, read its tables back in a form that compares across engines.

::

    project = EngineProject("postgres", tmp_path / "p", warehouse=postgres_url)
    project.write({"models/marts/m.sql": "select 1 as x"})
    assert project.run().status == "success"
    assert project.rows("select x from marts.m") == [(1,)]

A project's source data can be a SQLite table the project reads (:meth:`EngineProject.
source_rows`: the table's whole contents before the next run), the same on every engine.

Which engine can do what is its :class:`~headwater.engines.base.Capabilities` (data, never
the engine's name): :func:`missing_capabilities` says which of a test's needs an engine
lacks, so the test is expected to fail there until the engine declares it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.testing.cli import query_warehouse, write_project

if TYPE_CHECKING:
    from headwater.engines import Engine
    from headwater.runtime import RunResult
    from headwater.scheduling import Interval

#: The warehouse engines Headwater has, in the order the suite runs them.
ENGINES = ("duckdb", "postgres", "spark")

#: The SQLite file (in the project folder) that :meth:`EngineProject.source_rows` fills,
#: declared as connection ``src`` in a project's ``headwater.toml``.
SOURCE_DB = "src.sqlite"


def missing_capabilities(engine: str, needs: Any) -> list[str]:
    """The names among ``needs`` (boolean fields of Capabilities) that ``engine`` lacks;
    a name that is no field of Capabilities raises AttributeError (a test's typo)."""
    from headwater.engines import capabilities_of

    caps = capabilities_of(engine)
    return [need for need in needs if not getattr(caps, need)]


@dataclass
class EngineProject:
    """A project folder at ``root`` whose warehouse is ``engine``: ``warehouse`` is the
    PostgreSQL database's URL (None for DuckDB's file and Spark's folder, their defaults
    under ``.headwater/``); ``master`` is Spark's (None: its default, ``local[2]``), e.g. a
    Spark Connect server's ``sc://host:port``."""

    engine: str
    root: Path
    warehouse: str | None = None
    master: str | None = None

    def write(self, files: dict[str, str]) -> Path:
        """Write (or overwrite) the project's files; ``headwater.toml`` gets the
        ``[project]`` table naming the engine (and its warehouse and master when set)."""
        head = f'[project]\nname = "neutral"\nengine = "{self.engine}"\n'
        if self.warehouse:
            head += f'warehouse = "{self.warehouse}"\n'
        if self.master:
            head += f'master = "{self.master}"\n'
        toml = head + "\n" + files.get("headwater.toml", "")
        return write_project(self.root, {**files, "headwater.toml": toml})

    def source_rows(self, ddl: str, rows: list[tuple[Any, ...]], table: str = "t") -> None:
        """Make ``table`` of the project's SQLite file (``SOURCE_DB``) hold exactly ``rows``
        (its columns: ``ddl``), as the source database is before the next run."""
        con = sqlite3.connect(self.root / SOURCE_DB)
        try:
            con.execute(f"create table if not exists {table} ({ddl})")
            con.execute(f"delete from {table}")
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                con.executemany(f"insert into {table} values ({marks})", rows)
            con.commit()
        finally:
            con.close()

    def run(
        self, select: list[str] | None = None, *, interval: Interval | None = None
    ) -> RunResult:
        """``headwater run [-s SELECT]`` in this process, through ``headwater.api.run``."""
        from headwater import api

        return api.run(self.root, select, interval=interval)

    def open_warehouse(self, *, read_only: bool = False) -> Engine:
        """The project's warehouse opened as ``headwater run`` opens it (its engine, location
        and ``[project]`` options); the caller closes it."""
        from headwater.api.project import as_project, open_warehouse

        return open_warehouse(as_project(self.root), read_only=read_only)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """``sql``'s rows (project SQL) on the warehouse, sorted, each value in a form every
        engine gives alike: decimals as floats, dates and times as ISO text."""
        return sorted((tuple(_plain(v) for v in row) for row in query_warehouse(self.root, sql)),
                      key=repr)  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):  # an instant in UTC, as the engines store them
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value
