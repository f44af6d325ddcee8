"""Authentication of a REST source's requests: bearer, basic, API key, OAuth2 client
credentials. Secrets come from ``${ENV}`` placeholders (resolved here, remembered for
redaction by :mod:`headwater.config.secrets`) and never appear in a message."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx

from headwater.config.rest import RestAuth
from headwater.config.secrets import interpolate
from headwater.errors import ConnectionError_, SourceError


class Auth:
    """Adds credentials to a request; ``refresh()`` after a 401 (True: try once more)."""

    def __init__(self, spec: RestAuth | None, *, where: str) -> None:
        self.spec = spec
        self.where = where
        self.secrets: list[str] = []
        self._headers: dict[str, str] = {}
        self._params: dict[str, str] = {}
        self._token: str | None = None
        self._expires = 0.0
        if spec is None:
            return
        if spec.type == "bearer":
            token = self._secret(spec.token)
            self._headers["Authorization"] = f"Bearer {token}"
        elif spec.type == "basic":
            user = interpolate(spec.username or "", where=self.where, secret=False)
            pair = f"{user}:{self._secret(spec.password)}"
            encoded = base64.b64encode(pair.encode()).decode()
            self.secrets.append(encoded)
            self._headers["Authorization"] = f"Basic {encoded}"
        elif spec.type == "api_key":
            key = self._secret(spec.key)
            target = self._headers if spec.location == "header" else self._params
            target[spec.name] = key

    def _secret(self, value: str | None) -> str:
        resolved = interpolate(value or "", where=self.where)
        self.secrets.append(resolved)
        return resolved

    def apply(self, client: httpx.Client, request: dict[str, Any]) -> None:
        """Set the credentials on ``request`` (httpx.request keyword arguments)."""
        request["headers"] = {**request.get("headers", {}), **self._headers}
        if self._params and request.get("params") is not None:
            request["params"] = {**request["params"], **self._params}
        elif self._params:  # a next-page URL: its query is kept, the key added
            url = httpx.URL(request["url"])
            request["url"] = str(url.copy_merge_params(self._params))
        if self.spec is not None and self.spec.type == "oauth2":
            if self._token is None or time.monotonic() >= self._expires:
                self._fetch_token(client)
            request["headers"]["Authorization"] = f"Bearer {self._token}"

    def refresh(self) -> bool:
        """After a 401: forget an OAuth2 token (fetched again by the next request). False for
        the other kinds: their credentials would be refused again."""
        if self.spec is None or self.spec.type != "oauth2" or self._token is None:
            return False
        self._token = None
        return True

    def _fetch_token(self, client: httpx.Client) -> None:
        """Client-credentials grant; the token is kept until 30 s before it expires."""
        spec = self.spec
        assert spec is not None and spec.token_url is not None
        url = interpolate(spec.token_url, where=self.where, secret=False)
        data = {"grant_type": "client_credentials"}
        if spec.scope:
            data["scope"] = spec.scope
        auth = (self._secret(spec.client_id), self._secret(spec.client_secret))
        try:
            response = client.post(url, data=data, auth=auth)
        except httpx.TransportError as exc:
            raise ConnectionError_(
                f"{self.where}: OAuth2 token request to {url} failed: {type(exc).__name__}"
            ) from None
        if response.status_code != 200:
            raise SourceError(
                f"{self.where}: OAuth2 token request to {url}: HTTP {response.status_code} "
                f"{response.reason_phrase}"
            )
        try:
            body = response.json()
            token = str(body["access_token"])
        except (ValueError, KeyError, TypeError):
            raise SourceError(f"{self.where}: OAuth2 token response has no access_token") from None
        self.secrets.append(token)
        self._token = token
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
        self._expires = time.monotonic() + max(lifetime - 30.0, lifetime / 2)
