"""Run the ``headwater`` CLI in-process and capture what it prints (like click.testing)."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@contextlib.contextmanager
def _cwd(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def invoke(*args: str, cwd: Path | None = None) -> CliResult:
    """Call ``headwater ARGS`` through its real entry point (error handling included)."""
    from headwater.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["headwater", *args]
    code = 0
    try:
        with _cwd(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    return CliResult(code, out.getvalue(), err.getvalue())


def write_project(root: Path, files: dict[str, str], *, name: str = "test") -> Path:
    """Write a project folder; ``headwater.toml`` gets a ``[project]`` table if it lacks one."""
    root.mkdir(parents=True, exist_ok=True)
    toml = files.get("headwater.toml", "")
    if "[project]" not in toml:
        toml = f'[project]\nname = "{name}"\n\n' + toml
    for rel, text in {**files, "headwater.toml": toml}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def query_warehouse(root: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` on the project's warehouse at ``root`` (its ``[project] engine``, and
    Spark's ``master`` and ``metastore_uri``), opened read-only and closed."""
    from headwater.config.settings import load_settings
    from headwater.engines import open_engine

    settings = load_settings(root / "headwater.toml").project
    url = "://" in settings.warehouse  # a database's URL (postgres), else a path
    where = settings.warehouse if url else root / Path(settings.warehouse)
    options = {"master": settings.master, "metastore_uri": settings.metastore_uri}
    engine = open_engine(settings.engine, where, read_only=True, options=options)
    try:
        return list(engine.execute(sql, params or []).fetchall())
    finally:
        engine.close()
