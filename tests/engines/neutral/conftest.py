"""One suite, three warehouses: every test here that takes ``engine_project`` runs on
DuckDB, PostgreSQL and Spark, and on Spark again through Spark Connect.

``engine_project`` is a :class:`~headwater.testing.engines.EngineProject`: a project folder
written for that engine, run in-process by ``headwater.api.run``. PostgreSQL gets a fresh
database of the session's server (tests/conftest.py); Spark runs on the process's one
SparkSession (one JVM and one catalog per test process, whichever project or test opened
it first: the golden and tests/engines/test_spark_engine.py tests share it too), so the
projects run on it give their tables names of their own. ``spark-connect`` is the Spark
engine with ``master = "sc://..."``: the session's Spark Connect server
(tests/engines/conftest.py), whose catalog its projects share the same way.

What an engine cannot do is capability data (``Capabilities.partitioned_models``,
``quarantine``). A data case needing it (its ``needs`` field) is refused up front on that
engine, which test_cases.py asserts. A test declaring what it needs with
``@pytest.mark.needs("quarantine")`` is marked ``xfail(strict=True)`` on that engine, so it
fails the day it passes there, when the engine's capability must be flipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from headwater.testing.engines import ENGINES, EngineProject, missing_capabilities

#: The suite's engine ids: Headwater's engines, and Spark through Spark Connect.
SUITE = (*ENGINES, "spark-connect")
_KIND = {"spark-connect": "spark"}  # an id that is not an engine's name: its engine


def lacking(name: str, needs: Iterable[str]) -> list[str]:
    """The capabilities among ``needs`` that the suite's engine ``name`` lacks."""
    return missing_capabilities(_KIND.get(name, name), needs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(*capabilities): engine capabilities a test needs")


def _param(name: str, needs: Iterable[str], *values: Any, ident: str) -> Any:
    """``pytest.param(*values)`` on engine ``name``: xfail(strict) where its capabilities
    lack one of ``needs``."""
    missing = lacking(name, needs)
    reason = f"{name}: {', '.join(missing)} is False in its Capabilities"
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if missing else []
    return pytest.param(*values, marks=marks, id=ident)


def engine_params(needs: Iterable[str] = ()) -> list[Any]:
    """A ``pytest.param`` per engine (see :func:`_param`)."""
    return [_param(name, needs, name, ident=name) for name in SUITE]


def matrix(cases: Iterable[Any]) -> list[Any]:
    """Every case on every engine, engine by engine, for ``@pytest.mark.parametrize("engine,
    case", matrix(CASES))`` (the test tells a refused case by its ``needs``)."""
    cases = list(cases)
    return [pytest.param(n, c, id=f"{n}-{c.name}") for n in SUITE for c in cases]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking ``engine_project`` that does not parametrize it runs on each engine."""
    if "engine_project" not in metafunc.fixturenames:
        return
    needs = [n for m in metafunc.definition.iter_markers("needs") for n in m.args]
    metafunc.parametrize("engine_project", engine_params(needs), indirect=True)


def project_for(request: pytest.FixtureRequest, name: str, root: Path) -> EngineProject:
    """A project folder at ``root`` for engine ``name``; PostgreSQL's warehouse is a fresh
    database of the session's server (a warehouse of its own per project, as DuckDB's file
    and Spark's folder are); ``spark-connect``'s master is the session's Connect server."""
    if name == "postgres":
        server = request.getfixturevalue("postgres_server")
        return EngineProject(name, root, server.create_database(f"t_{uuid.uuid4().hex[:12]}"))
    if name == "spark-connect":
        return EngineProject("spark", root, master=request.getfixturevalue("spark_connect").url)
    return EngineProject(name, root)


@pytest.fixture
def engine_project(request: pytest.FixtureRequest, tmp_path: Path) -> EngineProject:
    """A project folder for the engine named by the parameter (see module docstring)."""
    return project_for(request, request.param, tmp_path / request.param)
