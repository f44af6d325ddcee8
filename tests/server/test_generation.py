"""The response cache's data generation (server/generation.py, server/cache.py): an answer
is served again only while what it reads is unchanged. A write to the metastore by another
connection changes every answer's generation; a commit to the warehouse only the answers
that read the warehouse, so the runs grid is not recomputed for each model a run builds."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from headwater.server.cache import ResponseCache
from headwater.server.generation import Generation


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    metastore = tmp_path / "metastore.sqlite"
    with sqlite3.connect(metastore) as conn:
        conn.execute("create table t (x int)")
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(b"x" * 10)
    return metastore, warehouse


@pytest.fixture
def generation(files: tuple[Path, Path]) -> Iterator[Generation]:
    found = Generation(f"sqlite:///{files[0]}", files[1])
    yield found
    found.close()


def _commit(metastore: Path) -> None:
    with sqlite3.connect(metastore) as conn:  # another connection, as a run's recorder
        conn.execute("insert into t values (1)")


def _build(warehouse: Path) -> None:
    with warehouse.with_name(warehouse.name + ".wal").open("ab") as wal:
        wal.write(b"a model's commit")


def test_a_warehouse_commit_changes_only_the_wide_generation(
    generation: Generation, files: tuple[Path, Path]
) -> None:
    metastore, warehouse = files
    narrow, wide = generation.current(warehouse=False), generation.current()
    _build(warehouse)
    assert generation.current(warehouse=False) == narrow
    assert generation.current() != wide
    _commit(metastore)
    assert generation.current(warehouse=False) != narrow


def test_only_answers_reading_the_warehouse_are_recomputed_after_a_build(
    generation: Generation, files: tuple[Path, Path]
) -> None:
    computed: Counter[str] = Counter()

    def answer(request: Request) -> JSONResponse:
        computed[request.url.path] += 1
        return JSONResponse({"n": computed[request.url.path]})

    cache = ResponseCache(generation)

    async def cached(request: Request, call_next):  # type: ignore[no-untyped-def]
        return await cache.serve(request, "viewer", request.url.path, call_next)

    app = Starlette(
        routes=[Route("/api/grid", answer), Route("/api/overview", answer)],
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=cached)],
    )
    asyncio.run(_follow(app, files))


async def _follow(app: Starlette, files: tuple[Path, Path]) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hw") as client:

        async def n(path: str) -> int:
            return int((await client.get(path)).json()["n"])

        for _ in range(2):
            assert (await n("/api/grid"), await n("/api/overview")) == (1, 1)
        _build(files[1])
        assert await n("/api/grid") == 1  # reads only the metastore: kept
        assert await n("/api/overview") == 2  # reads the warehouse
        _commit(files[0])
        assert (await n("/api/grid"), await n("/api/overview")) == (2, 3)
