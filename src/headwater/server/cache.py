"""The response cache of the read endpoints: an answer computed once is served as bytes to
every client asking the same thing until the data may have changed.

What is cached: a 200 answer to a ``GET`` of a path :data:`CACHED` matches, whose answer
depends only on the metastore, the warehouse and the project the server loaded at start
(runs, a run, the grid, the overview, the graph, an asset and its lineage, the quarantine's
tables, loads, backfill progress, the store page's answers, users, tokens). Not cached:
pages (HTML carries the session's CSRF token), steps' logs (files that grow without a
metastore write), queries, Arrow reads, and the calls that read the project from disk now;
nor, on a warehouse other processes may write (PostgreSQL, Spark), what reads the warehouse
(:data:`READS_WAREHOUSE`).

The key is (path, query string, the caller's role): a viewer never gets an answer computed
for an admin (a route refusing a role is computed, and refused, for that role). An entry is
served only when the :class:`~headwater.server.generation.Generation` read when the request
arrived equals the one read before the entry's computation began, so a cached answer is
never older than the data at the time of the request (for an answer that reads only the
metastore, everything but :data:`READS_WAREHOUSE`, the metastore's generation alone: a
model a run builds does not recompute the runs grid); and for at most :data:`MAX_AGE`
seconds, for what depends on the clock (the overview's next run, a dead process's run
shown abandoned). A request for a key being computed waits for that computation when it
began after the request arrived (or on the same generation) instead of repeating it; else
it waits for it to end and shares the next one: one computation per key at a time, and a
request waits for at most two, however often the data changes. The
cache holds at most :data:`MAX_BYTES` of answers (least recently used dropped first).

Every cached answer carries an ``ETag`` (a hash of its bytes); a request whose
``If-None-Match`` names it gets ``304 Not Modified`` without a body.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from headwater.server.generation import Generation

__all__ = ["CACHED", "MAX_AGE", "MAX_BYTES", "READS_WAREHOUSE", "ResponseCache"]

CACHED = re.compile(
    r"/api/(?:runs|runs/[^/]+|overview|grid|graph|assets/[^/]+|assets/[^/]+/lineage"
    r"|quarantine/assets|loads|pipelines/[^/]+/intervals|store|users|tokens)"
)
# of those, the ones that read the warehouse: cached only when the generation sees its
# writes, and recomputed after each of them (the others only after a metastore write)
READS_WAREHOUSE = re.compile(
    r"/api/(?:overview|assets/[^/]+|assets/[^/]+/lineage|quarantine/assets|loads|store)"
)
MAX_AGE = 1.0  # seconds an entry may be served on an unchanged generation
MAX_BYTES = 64 * 1024 * 1024  # all entries' bodies together
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

CallNext = Callable[[Request], Awaitable[Any]]


@dataclass(frozen=True)
class Entry:
    """One cached answer: its body, media type, ETag, the generation it was computed on
    (read before it began) and when (``time.monotonic()``)."""

    body: bytes
    media_type: str
    etag: str
    generation: Hashable
    made: float


@dataclass
class _Flight:
    """A computation under way: the generation read before it began, when it began (the
    cache's event count), its outcome."""

    generation: Hashable
    began: int
    done: asyncio.Future[Entry | None]


class ResponseCache:
    """The cache of one server (:func:`headwater.server.http.create_app` makes it); all its
    methods run on the event loop (no locks: one thread touches its dicts)."""

    def __init__(self, generation: Generation, *, max_bytes: int = MAX_BYTES) -> None:
        self.generation = generation
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._bytes = 0
        self._flights: dict[Hashable, _Flight] = {}
        self._clock = itertools.count()  # orders arrivals and beginnings (one event loop)

    async def serve(self, request: Request, role: str, route: str, call_next: CallNext) -> Any:
        """The answer to ``request`` (made by a caller of ``role``; ``route``: its path
        without the server's root path), from the cache when allowed, else from
        ``call_next`` (the app), kept for the next callers when it may be."""
        if request.method not in _SAFE:
            try:
                return await call_next(request)
            finally:  # whatever it wrote is visible now: forget what was computed before
                self.generation.bump()
        if request.method != "GET" or not self._cacheable(route):
            return await call_next(request)
        key = (route, request.url.query, role)
        # an answer that reads only the metastore is kept while the warehouse changes
        wide = bool(READS_WAREHOUSE.fullmatch(route))
        entry = await self._answer(key, wide, request, call_next)
        if isinstance(entry, Entry):
            return _reply(entry, request)
        return entry

    def _cacheable(self, route: str) -> bool:
        if not CACHED.fullmatch(route):
            return False
        return self.generation.sees_warehouse or not READS_WAREHOUSE.fullmatch(route)

    async def _answer(
        self, key: Hashable, wide: bool, request: Request, call_next: CallNext
    ) -> Any:
        arrived = next(self._clock)
        now = self.generation.current(warehouse=wide)
        entry = self._entries.get(key)
        if (
            entry is not None
            and entry.generation == now
            and time.monotonic() - entry.made < MAX_AGE
        ):
            self._entries.move_to_end(key)
            return entry
        while True:
            flight = self._flights.get(key)
            if flight is None:
                return await self._compute(key, wide, request, call_next)
            # its data is read after our arrival, or on the data we arrived on: ours too
            if flight.began > arrived or flight.generation == now:
                shared = await asyncio.shield(flight.done)
                return shared if shared is not None else await call_next(request)
            # begun on older data: let it end; the next one begins after our arrival
            await asyncio.wait([flight.done])

    async def _compute(
        self, key: Hashable, wide: bool, request: Request, call_next: CallNext
    ) -> Any:
        done: asyncio.Future[Entry | None] = asyncio.get_running_loop().create_future()
        now = self.generation.current(warehouse=wide)  # read before the app reads any data
        self._flights[key] = _Flight(now, next(self._clock), done)
        entry: Entry | None = None
        try:
            response = await call_next(request)
            body = b"".join([chunk async for chunk in response.body_iterator])
            if response.status_code != 200 or len(body) > self.max_bytes // 4:
                plain = Response(body, status_code=response.status_code)
                plain.raw_headers = response.raw_headers  # as the app made them
                return plain
            media_type = response.headers.get("content-type", "application/json")
            etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
            entry = Entry(body, media_type, etag, now, time.monotonic())
            self._keep(key, entry)
            return entry
        finally:
            if not done.done():
                done.set_result(entry)  # None: the waiters ask the app themselves
            if self._flights.get(key) is not None and self._flights[key].done is done:
                del self._flights[key]

    def _keep(self, key: Hashable, entry: Entry) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        self._entries[key] = entry
        self._bytes += len(entry.body)
        while self._bytes > self.max_bytes and self._entries:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped.body)

    @property
    def size(self) -> tuple[int, int]:
        """(entries, bytes of their bodies) held now."""
        return len(self._entries), self._bytes


def _reply(entry: Entry, request: Request) -> Response:
    headers = {"ETag": entry.etag, "Cache-Control": "no-cache"}  # ask again, maybe 304
    asked = request.headers.get("if-none-match")
    if asked is not None and entry.etag in (t.strip() for t in asked.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(entry.body, headers=headers, media_type=entry.media_type)
