"""The product catalog as a REST API (``headwater demo --databases real``).

The generator writes ``catalog/products.jsonl``; this mode serves it from 127.0.0.1 as
``GET /products?page=N&per_page=M`` -> ``{"data": [...], "total": count}``, behind a
bearer token, read again at each request (an appended batch's catalog is served as
written). The project reads it as a REST source (``[sources.catalog.rest]``, the asset
``raw.catalog_products`` as before); the token reaches it through ``${HW_DEMO_API_TOKEN}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ENV_PORT, ENV_TOKEN = "HW_DEMO_API_PORT", "HW_DEMO_API_TOKEN"

REST_SOURCE = """[sources.catalog]
primary_key = ["sku"]
write = "replace"
description = "The product catalog, from the catalog API (REST, bearer token)"

[sources.catalog.rest]
base_url = "http://127.0.0.1:${HW_DEMO_API_PORT}"
auth = { type = "bearer", token = "${HW_DEMO_API_TOKEN}" }
paginate = { type = "page_number", size_param = "per_page", size = 10, total_path = "total" }

[sources.catalog.rest.endpoints.products]
path = "/products"
records = "data"
"""

_FILE_SOURCE = re.compile(r'\[sources\.catalog_products\]\nfiles = "[^"]*"\n(?:[a-z_]+ = .*\n)*')


def point_catalog(toml: str) -> str:
    """``headwater.toml`` with the catalog's file source replaced by the REST source."""
    toml = toml.replace("catalog (files for now)", "catalog (products: a REST API)", 1)
    return _FILE_SOURCE.sub(REST_SOURCE, toml, count=1)


@contextlib.contextmanager
def serve_catalog(root: Path) -> Iterator[str]:
    """Serve ``root/catalog/products.jsonl``; exports the port and token variables."""
    token = secrets.token_urlsafe(24)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(root / "catalog/products.jsonl", token))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    os.environ[ENV_PORT] = str(server.server_address[1])
    os.environ[ENV_TOKEN] = token
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _page(path: Path, query: dict[str, str]) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        products = [json.loads(line) for line in f if line.strip()]
    size = int(query.get("per_page", "10"))
    page = int(query.get("page", "1"))
    return {"data": products[(page - 1) * size : page * size], "total": len(products)}


def _handler(path: Path, token: str) -> Callable[..., BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 1 << 16  # headers and body in one send (no Nagle / delayed-ACK stall)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            if self.headers.get("Authorization") != f"Bearer {token}":
                status, body = 401, {"error": "unauthorized"}
            elif parts.path != "/products":
                status, body = 404, {"error": f"no route {parts.path}"}
            else:
                status, body = 200, _page(path, query)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the demo prints its own account

    return Handler
