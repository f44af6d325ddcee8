"""The server answers its endpoints on a bounded thread pool (``HTTP_THREADS``, not AnyIO's
40): a burst of concurrent reads makes the process grow at most that many threads, each
of which would keep a warehouse cursor, a metastore connection and a malloc arena."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from server_process import Server

from headwater.server.process import HTTP_THREADS


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def test_a_burst_of_reads_grows_at_most_the_pool(server: Server) -> None:
    with server.client() as client:
        client.get("/api/runs").raise_for_status()  # the first endpoint thread
        before = _threads(server.proc.pid)

        def read(i: int) -> int:
            path = ("/api/runs?limit=50", "/api/overview", "/api/grid", "/api/graph")[i % 4]
            return client.get(path).status_code

        with ThreadPoolExecutor(48) as pool:
            for _ in range(3):
                assert set(pool.map(read, range(96))) == {200}
        grown = _threads(server.proc.pid) - before
    assert HTTP_THREADS < 40
    assert grown <= HTTP_THREADS - 1, f"{grown} threads more after 288 concurrent reads"
