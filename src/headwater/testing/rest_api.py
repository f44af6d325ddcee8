"""A small JSON API on 127.0.0.1 for tests of REST sources (and users' own tests): it
serves a list of orders (mutable while it runs) in every pagination style, with optional
auth, throttling, transient failures and expiring OAuth2 tokens.

Routes (``size`` from ``per_page`` / ``limit``, default 10; ``updated_since`` keeps orders
with ``updated_at >= updated_since``; orders sorted by ``(updated_at, id)``):

- ``GET /orders?page=N`` -> ``{"data": [...], "total": count}`` (page number, from 1)
- ``GET /orders/offset?offset=N&limit=M`` -> ``{"items": [...]}``
- ``GET /orders/cursor?cursor=C`` -> ``{"results": [...], "next_cursor": C or null}``
- ``GET /orders/link?page=N`` -> a JSON list, ``Link: <...>; rel="next"``
- ``GET /orders/next?page=N`` -> ``{"data": [...], "next": "/orders/next?..." or null}``
- ``GET /orders/{id}/items`` -> the order's ``items`` (a JSON list)
- ``POST /oauth/token`` (client credentials, HTTP basic) -> ``{"access_token", "expires_in"}``
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

Order = dict[str, Any]


class RestApi:
    """The API's data and behaviour; ``with RestApi(orders) as api: api.url``.

    ``auth``: None, ``("bearer", token)``, ``("basic", "user:password")``, ``("api_key",
    key)`` (header ``X-API-Key`` or query ``api_key``) or ``("oauth2", "id:secret")``
    (tokens from ``/oauth/token``, each refused with 401 after ``token_uses`` requests).
    ``throttle_every``: every Nth request gets 429 with ``Retry-After: retry_after``.
    ``fail``: the request numbers (1-based) answered 503 (a transient failure)."""

    def __init__(
        self,
        orders: list[Order],
        *,
        auth: tuple[str, str] | None = None,
        throttle_every: int = 0,
        retry_after: str = "0.05",
        fail: frozenset[int] = frozenset(),
        token_uses: int | None = None,
    ) -> None:
        self.orders = orders
        self.auth = auth
        self.throttle_every = throttle_every
        self.retry_after = retry_after
        self.fail = fail
        self.token_uses = token_uses
        self.tokens: dict[str, int] = {}  # token -> requests left
        self.log: list[tuple[int, str]] = []  # (status, path?query) of each request
        self.headers_seen: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RestApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- the routes ---------------------------------------------------------------------
    def respond(
        self, method: str, target: str, headers: dict[str, str], form: str
    ) -> tuple[int, dict[str, str], Any]:
        """(status, headers, JSON body) for one request."""
        with self.lock:
            number = len(self.log) + 1
            self.headers_seen.append(headers)
            status, extra, body = self._respond(number, method, target, headers, form)
            self.log.append((status, target))
        return status, extra, body

    def _respond(
        self, number: int, method: str, target: str, headers: dict[str, str], form: str
    ) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if method == "POST" and parts.path == "/oauth/token":
            return self._token(headers, form)
        if number in self.fail:
            return 503, {}, {"error": "unavailable"}
        if self.throttle_every and number % self.throttle_every == 0:
            return 429, {"Retry-After": self.retry_after}, {"error": "slow down"}
        refused = self._refused(headers, query)
        if refused:
            return 401, {}, {"error": refused}
        return self._route(parts.path, query)

    def _route(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        rows = sorted(self.orders, key=lambda o: (o["updated_at"], o["id"]))
        if "updated_since" in query:
            rows = [o for o in rows if o["updated_at"] >= query["updated_since"]]
        size = int(query.get("per_page", query.get("limit", "10")))
        if path == "/orders":
            page = int(query.get("page", "1"))
            return 200, {}, {"data": rows[(page - 1) * size : page * size], "total": len(rows)}
        if path == "/orders/offset":
            offset = int(query.get("offset", "0"))
            return 200, {}, {"items": rows[offset : offset + size]}
        if path == "/orders/cursor":
            start = int(query.get("cursor", "0"))
            more = start + size < len(rows)
            return 200, {}, {"results": rows[start : start + size],
                             "next_cursor": str(start + size) if more else None}  # fmt: skip
        if path in ("/orders/link", "/orders/next"):
            page = int(query.get("page", "1"))
            more = page * size < len(rows)
            nxt = f"{path}?{urlencode({**query, 'page': page + 1})}" if more else None
            chunk = rows[(page - 1) * size : page * size]
            if path == "/orders/link":
                return 200, ({"Link": f'<{self.url}{nxt}>; rel="next"'} if nxt else {}), chunk
            return 200, {}, {"data": chunk, "next": nxt}
        bits = path.strip("/").split("/")
        if len(bits) == 3 and bits[0] == "orders" and bits[2] == "items":
            found = [o for o in self.orders if str(o["id"]) == bits[1]]
            if found:
                return 200, {}, found[0].get("items", [])
        return 404, {}, {"error": f"no route {path}"}

    def _refused(self, headers: dict[str, str], query: dict[str, str]) -> str | None:
        """Why the request's credentials are refused (None: accepted, or no auth)."""
        if self.auth is None:
            return None
        kind, secret = self.auth
        given = headers.get("authorization", "")
        if kind == "bearer":
            return None if given == f"Bearer {secret}" else "bad token"
        if kind == "basic":
            expected = base64.b64encode(secret.encode()).decode()
            return None if given == f"Basic {expected}" else "bad credentials"
        if kind == "api_key":
            ok = secret in (headers.get("x-api-key"), query.get("api_key"))
            return None if ok else "bad key"
        token = given.removeprefix("Bearer ")
        left = self.tokens.get(token)
        if left is None or left <= 0:
            return "token expired"
        self.tokens[token] = left - 1
        return None

    def _token(self, headers: dict[str, str], form: str) -> tuple[int, dict[str, str], Any]:
        expected = base64.b64encode((self.auth or ("", ""))[1].encode()).decode()
        fields = parse_qs(form)
        if headers.get("authorization") != f"Basic {expected}":
            return 401, {}, {"error": "invalid_client"}
        if fields.get("grant_type") != ["client_credentials"]:
            return 400, {}, {"error": "unsupported_grant_type"}
        token = secrets.token_hex(16)
        self.tokens[token] = self.token_uses if self.token_uses is not None else 10**9
        return 200, {}, {"access_token": token, "token_type": "bearer", "expires_in": 3600}


def _handler(api: RestApi) -> Callable[..., BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 1 << 16  # headers and body in one send (no Nagle / delayed-ACK stall)

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = self.rfile.read(length).decode() if length else ""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, body = api.respond(method, self.path, headers, form)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the API keeps its own log

    return Handler


def make_orders(count: int, *, start: int = 1, day: str = "2026-11-20") -> list[Order]:
    """``count`` orders with nested data: a customer object, a list of items, tags."""
    return [
        {
            "id": i,
            "updated_at": f"{day}T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z",
            "status": "paid" if i % 3 else "open",
            "total": round(i * 1.25, 2),
            "customer": {"name": f"customer {i % 7}", "country": "DE" if i % 2 else "FR"},
            "items": [{"sku": f"sku-{i}-{n}", "qty": n + 1} for n in range(i % 3)],
            "tags": ["a", "b"][: i % 3],
        }
        for i in range(start, start + count)
    ]
