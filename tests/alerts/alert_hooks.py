"""A real HTTP server on 127.0.0.1 (a thread) that records the JSON posted to it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Hook:
    url: str
    bodies: list[bytes] = field(default_factory=list)  # every POST, delivered or not
    answers: list[int] = field(default_factory=list)  # status codes to answer, then 200
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """The payloads answered 200."""
        return [json.loads(b) for b, ok in zip(self.bodies, self._oks, strict=True) if ok]

    _oks: list[bool] = field(default_factory=list)


@contextmanager
def webhook(answers: list[int] | None = None, *, hold: bool = False) -> Iterator[Hook]:
    """Serve until the block ends; ``answers``: the first requests' status codes; ``hold``:
    each request waits for ``hook.release`` before it is answered."""
    hook = Hook("", answers=list(answers or []))
    if not hold:
        hook.release.set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.release.wait(10)
            code = hook.answers.pop(0) if hook.answers else 200
            hook.bodies.append(body)
            hook._oks.append(code == 200)
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
