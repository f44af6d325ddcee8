"""One REST source's HTTP client: auth, a requests-per-second cap, retries with backoff
on transient failures (connect errors, timeouts, 429, 5xx; ``Retry-After`` honoured), and
one-line errors naming the source, endpoint and HTTP status, never a secret.

Exit codes (headwater.errors): a server that cannot be reached after the retries is a
:class:`ConnectionError_` (3); an HTTP error status or a body that is no JSON is a
:class:`SourceError` (4).
"""

from __future__ import annotations

import logging
import threading
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from headwater.config.rest import RestSettings
from headwater.config.secrets import interpolate, redact_text
from headwater.errors import ConnectionError_, SourceError
from headwater.sources.rest.auth import Auth

TRANSIENT = frozenset({429, 500, 502, 503, 504})

# httpx logs each request's URL at INFO: an API key sent in the query would reach the logs
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)


class Cancelled(SourceError):
    """The step was cancelled (timeout) while it read the API."""


class RestClient:
    """GETs JSON from one API. ``where`` names the source in every message."""

    def __init__(self, settings: RestSettings, *, source: str, log: logging.Logger) -> None:
        self.settings = settings
        self.where = f"source {source!r}"
        self.log = log
        self.base_url = interpolate(settings.base_url, where=self.where).rstrip("/")
        headers = {k: interpolate(v, where=self.where) for k, v in settings.headers.items()}
        self.auth = Auth(settings.auth, where=self.where)
        self.auth.secrets.extend(headers.values())
        self.http = httpx.Client(headers=headers, timeout=settings.timeout, follow_redirects=True)
        self._next_slot = 0.0
        self._cancelled = threading.Event()
        self.requests = 0

    @property
    def shown_base(self) -> str:
        """The base URL as messages show it (credentials in it redacted)."""
        return self._clean(self.base_url)

    def close(self) -> None:
        self.http.close()

    def cancel(self) -> None:
        """Stop at the next request (from another thread)."""
        self._cancelled.set()

    def url(self, path: str) -> str:
        """``path`` under the base URL (an absolute URL is kept)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def get(self, url: str, params: dict[str, Any] | None, *, endpoint: str) -> httpx.Response:
        """GET ``url`` (with ``params``, or None: the URL's own query), retrying transient
        failures; a 401 refreshes an OAuth2 token once. Returns a 2xx response."""
        attempt = 0
        refreshed = False
        while True:
            if self._cancelled.is_set():
                raise Cancelled(f"{self.where} endpoint {endpoint!r}: cancelled")
            self._pace()
            request: dict[str, Any] = {"url": url, "params": params}
            try:
                self.auth.apply(self.http, request)
                response = self.http.get(
                    request["url"], params=request["params"], headers=request.get("headers")
                )
                self.requests += 1
            except httpx.TransportError as exc:
                if attempt >= self.settings.retries:
                    raise ConnectionError_(
                        self._clean(
                            f"{self.where} endpoint {endpoint!r}: {type(exc).__name__} "
                            f"after {attempt + 1} attempts: {exc} ({self._shown(url)})"
                        )
                    ) from None
                self._wait(attempt, None, endpoint, type(exc).__name__)
                attempt += 1
                continue
            status = response.status_code
            if status == 401 and not refreshed and self.auth.refresh():
                refreshed = True
                self.log.info(
                    "%s endpoint %r: HTTP 401, fetching a new token", self.where, endpoint
                )
                continue
            if status in TRANSIENT and attempt < self.settings.retries:
                self._wait(attempt, response.headers.get("Retry-After"), endpoint, str(status))
                attempt += 1
                continue
            if status >= 400:
                raise SourceError(
                    self._clean(
                        f"{self.where} endpoint {endpoint!r}: HTTP {status} "
                        f"{response.reason_phrase} from GET {self._shown(str(response.url))}"
                    )
                )
            return response

    def json(self, response: httpx.Response, *, endpoint: str) -> Any:
        """The response's JSON body; a SourceError naming the endpoint if it is none."""
        try:
            return response.json()
        except ValueError:
            raise SourceError(
                self._clean(
                    f"{self.where} endpoint {endpoint!r}: the response is not JSON "
                    f"(HTTP {response.status_code}, {response.headers.get('content-type')}) "
                    f"from GET {self._shown(str(response.url))}"
                )
            ) from None

    def _pace(self) -> None:
        """Keep to ``requests_per_second``: each request waits for its slot."""
        rps = self.settings.requests_per_second
        if rps is None:
            return
        now = time.monotonic()
        if now < self._next_slot:
            time.sleep(self._next_slot - now)
            now = self._next_slot
        self._next_slot = now + 1.0 / rps

    def _wait(self, attempt: int, retry_after: str | None, endpoint: str, why: str) -> None:
        delay = _retry_after(retry_after)
        if delay is None:
            delay = self.settings.backoff * (2**attempt)
        delay = min(delay, self.settings.max_wait)
        self.log.info(
            "%s endpoint %r: %s, retrying in %.2f s (attempt %d of %d)",
            self.where, endpoint, why, delay, attempt + 2, self.settings.retries + 1,
        )  # fmt: skip
        if self._cancelled.wait(delay):
            raise Cancelled(f"{self.where} endpoint {endpoint!r}: cancelled")

    def _shown(self, url: str) -> str:
        """``url`` without its query's secret values (an API key in the query)."""
        return self._clean(url)

    def _clean(self, text: str) -> str:
        return redact_text(text, also=self.auth.secrets)


def _retry_after(value: str | None) -> float | None:
    """Seconds of a ``Retry-After`` header (a number or an HTTP date); None if absent or
    unreadable.

    >>> _retry_after("2"), _retry_after(None), _retry_after("soon")
    (2.0, None, None)
    """
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
