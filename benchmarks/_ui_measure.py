"""What benchmarks/ui_compare.py measures the same way for every tool: a server in a
process group of its own (started, waited for, stopped), the CPU seconds of its whole
process tree, timed HTTP requests, and Chromium's time to a view's first paint;
:func:`measure_view` puts them together for one view: the data requests the browser made
until the view was painted, sent again and timed.

First paint is the same test for every tool: Chromium polls a predicate on every animation
frame (``wait_for_function(..., polling="raf")``) and the predicate returns
``performance.now()`` (milliseconds since navigation start) the first frame it holds, so
the figure is when the view's first element was in the document, to a frame.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks._server_proc import cpu_seconds, stop_group

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and every live descendant (a server's workers and code
    servers count: Dagster answers through a gRPC child)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += cpu_seconds(current)
        except (OSError, ValueError, IndexError):
            continue
        todo.extend(children.get(current, []))
    return total


class Background:
    """``argv`` in a process group of its own (stdout and stderr to ``log``), ready once
    ``ready_url`` answers 200; :meth:`stop` ends the group it started, and only it."""

    def __init__(
        self, argv: list[str], log: Path, ready_url: str, env: dict[str, str], timeout: float
    ) -> None:
        self.log = log
        self._out = open(log, "wb")  # noqa: SIM115 - closed in stop()
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"{argv[0]} exited {self.proc.returncode}: see {log}")
            try:
                if httpx.get(ready_url, timeout=5).status_code == 200:
                    self.ready_s = time.perf_counter() - started
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"{argv[0]} not ready in {timeout:.0f} s: see {log}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL to what is left after 30 s."""
        try:
            stop_group(self.proc)
        finally:
            self._out.close()


def timed(call: Callable[[], int], pid: int, reps: int) -> dict[str, Any]:
    """``call`` (one request, returning the body's size) once untimed-for-the-median
    (its wall time kept as ``first_s``: caches cold), then ``reps`` times: median wall
    seconds and median CPU seconds of the server's process tree, and the body's bytes."""
    began = time.perf_counter()
    size = call()
    first = time.perf_counter() - began
    walls, cpus = [], []
    for _ in range(reps):
        began, used = time.perf_counter(), tree_cpu_seconds(pid)
        size = call()
        walls.append(time.perf_counter() - began)
        cpus.append(tree_cpu_seconds(pid) - used)
    return {
        "first_s": round(first, 3),
        "median_s": round(statistics.median(walls), 3),
        "cpu_median_s": round(statistics.median(cpus), 3),
        "walls_s": [round(w, 3) for w in walls],
        "bytes": size,
    }


def get_size(client: httpx.Client, path: str, **kwargs: Any) -> Callable[[], int]:
    """A :func:`timed` call: GET ``path``, read whole, raise on an error status."""

    def call() -> int:
        answer = client.get(path, **kwargs)
        answer.raise_for_status()
        return len(answer.content)

    return call


@contextmanager
def browser_page(headers: dict[str, str] | None = None) -> Iterator[Any]:
    """A Chromium page (Debian's Chromium through Playwright) in a fresh context, sending
    ``headers`` with every request (Headwater's bearer token)."""
    from playwright.sync_api import ViewportSize, sync_playwright

    with sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            viewport = ViewportSize(width=1400, height=900)
            context = chromium.new_context(viewport=viewport, extra_http_headers=headers)
            yield context.new_page()
        finally:
            chromium.close()


def first_paint_ms(page: Any, url: str, predicate: str, timeout_s: float = 300) -> float:
    """Navigate to ``url``; milliseconds from navigation start to the first animation frame
    at which the JavaScript expression ``predicate`` holds."""
    page.goto(url, wait_until="commit")
    found = page.wait_for_function(
        f"() => ({predicate}) ? performance.now() : false",
        polling="raf",
        timeout=timeout_s * 1000,
    )
    return float(found.json_value())


def median_paint(page: Any, url: str, predicate: str, reps: int, **kw: Any) -> dict[str, Any]:
    """:func:`first_paint_ms` of ``reps`` navigations after one untimed (the browser's
    cache warm, as for a returning user): their median and all of them."""
    first_paint_ms(page, url, predicate, **kw)
    shown = [first_paint_ms(page, url, predicate, **kw) for _ in range(reps)]
    return {"median_ms": round(statistics.median(shown)), "all_ms": [round(s) for s in shown]}


def view_requests(page: Any, url: str, predicate: str, timeout_s: float) -> tuple[float, list[Any]]:
    """:func:`first_paint_ms` of ``url``, and the data requests (the document, ``fetch``
    and XHR: not scripts, styles or fonts) that had finished by then, each once."""
    finished: list[Any] = []

    def keep(request: Any) -> None:
        if request.resource_type in ("document", "fetch", "xhr"):
            finished.append(request)

    page.on("requestfinished", keep)
    try:
        shown = first_paint_ms(page, url, predicate, timeout_s)
    finally:
        page.remove_listener("requestfinished", keep)
    unique = {(r.method, r.url, r.post_data): r for r in finished}  # polls repeat themselves
    return shown, list(unique.values())


def request_names(requests: list[Any]) -> list[str]:
    """Each request as the tables name it: its path and query, or its GraphQL operation;
    a name met again gets `` #2``, `` #3``... (Dagster asks for live data in batches)."""
    names: list[str] = []
    for request in requests:
        path = "/" + request.url.split("/", 3)[-1]
        name = path.split("?op=")[-1] if "/graphql?op=" in path else path
        count = sum(1 for n in names if n == name or n.startswith(name + " #"))
        names.append(name if not count else f"{name} #{count + 1}")
    return names


def replayed(client: httpx.Client, request: Any) -> Callable[[], int]:
    """A :func:`timed` call sending what the browser sent for ``request`` (method, URL,
    body and its content type)."""
    headers = {k: v for k, v in request.headers.items() if k.lower() == "content-type"}
    body = request.post_data_buffer

    def call() -> int:
        answer = client.request(request.method, request.url, content=body, headers=headers)
        answer.raise_for_status()
        return len(answer.content)

    return call


def measure_view(
    url: str, predicate: str, pid: int, reps: int, timeout_s: float,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A view measured the same way for every tool, on a server just started (``pid``:
    its process tree's CPU is counted):

    - ``cold``: the first navigation in a fresh browser: its first paint, the server CPU
      it took, and each data request's time as the browser saw it (request sent to
      response end: the server's caches cold);
    - ``paint``: :func:`median_paint` of ``reps`` navigations after it;
    - ``server``: each data request of the cold navigation sent again ``reps`` times by
      :func:`timed`, and the sum of their medians (the view's server time, warm).

    A view not painted in ``timeout_s`` is ``{"timeout_s": timeout_s}``: the figure."""
    from playwright.sync_api import TimeoutError as PaintTimeout

    with browser_page(headers) as page:
        used = tree_cpu_seconds(pid)
        try:
            shown, requests = view_requests(page, url, predicate, timeout_s)
        except PaintTimeout:
            return {"timeout_s": timeout_s}
        named = list(zip(request_names(requests), requests, strict=True))
        cold = {
            "paint_ms": round(shown),
            "cpu_s": round(tree_cpu_seconds(pid) - used, 3),
            "requests_ms": {n: round(r.timing["responseEnd"]) for n, r in named},
        }
        paint = median_paint(page, url, predicate, reps, timeout_s=timeout_s)
    with httpx.Client(headers=headers, timeout=timeout_s) as client:
        server = {n: timed(replayed(client, r), pid, reps) for n, r in named}
    return {
        "cold": cold,
        "paint": paint,
        "server": server,
        "server_median_s": round(sum(s["median_s"] for s in server.values()), 3),
        "server_cpu_median_s": round(sum(s["cpu_median_s"] for s in server.values()), 3),
    }
