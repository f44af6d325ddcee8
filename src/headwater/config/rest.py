"""``[sources.NAME.rest]``: a REST API source, validated by pydantic (read by
:mod:`headwater.sources.rest`).

One asset per endpoint (``[sources.NAME.rest.endpoints.ENDPOINT]``), named like a table of a
source group. Secrets (tokens, passwords, client secrets) are written as ``${ENV}``
placeholders and resolved only when the source is read; they are redacted from every message.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

WriteDisposition = Literal["append", "replace", "merge", "scd2"]
_SECRETS = ("token", "password", "key", "client_secret")  # only from the environment
_PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_list(value: object) -> object:
    if isinstance(value, str):
        return [value] if value else []
    return value


class RestAuth(_Strict):
    """How requests authenticate. ``type``: ``bearer`` (``token``), ``basic`` (``username``,
    ``password``), ``api_key`` (``name``, ``key``, ``location`` header or query) or
    ``oauth2`` (client credentials: ``token_url``, ``client_id``, ``client_secret``,
    ``scope``; the token is fetched, cached until it expires and fetched again once after a
    401). Secrets (``token``, ``password``, ``key``, ``client_secret``) must be ``${ENV}``
    placeholders: a secret written into headwater.toml is refused."""

    type: Literal["bearer", "basic", "api_key", "oauth2"]
    token: str | None = None
    username: str | None = None
    password: str | None = None
    name: str = "X-API-Key"  # api_key: the header or query parameter
    key: str | None = None
    location: Literal["header", "query"] = "header"
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> RestAuth:
        needs = {
            "bearer": ("token",),
            "basic": ("username", "password"),
            "api_key": ("key",),
            "oauth2": ("token_url", "client_id", "client_secret"),
        }[self.type]
        missing = [k for k in needs if getattr(self, k) is None]
        if missing:
            raise ValueError(f"auth type {self.type!r} needs {', '.join(missing)}")
        for key in _SECRETS:
            value = getattr(self, key)
            if value is not None and not _PLACEHOLDER.search(value):
                raise ValueError(
                    f"{key}: write the secret as an environment variable, "
                    f'{key} = "${{SOME_VARIABLE}}", not in headwater.toml'
                )
        return self


class RestPaginate(_Strict):
    """How an endpoint's pages follow each other (``type``):

    - ``page_number``: ``page_param`` from ``first_page`` up, ``size_param`` = ``size``;
    - ``offset``: ``offset_param`` from 0 by ``size``, ``size_param`` (the limit) = ``size``;
    - ``cursor``: the body's ``cursor_path`` value sent back as ``cursor_param``;
    - ``link``: the ``Link`` header's ``rel="next"`` URL;
    - ``next_url``: the body's ``next_path`` value, a URL (absolute or relative);
    - ``none``: one request.

    Reading stops at an empty page, a page shorter than ``size`` (page_number, offset), no
    next cursor or URL, or when ``total_path`` (a count of records, or of pages for
    page_number) is reached."""

    type: Literal["page_number", "offset", "cursor", "link", "next_url", "none"] = "none"
    page_param: str = "page"
    first_page: int = 1
    offset_param: str = "offset"
    size_param: str | None = None
    size: int | None = Field(default=None, ge=1)
    cursor_param: str = "cursor"
    cursor_path: str = "next_cursor"
    next_path: str = "next"
    total_path: str | None = None


class RestEndpoint(_Strict):
    """One endpoint: an asset. ``path`` is relative to the base URL and may hold
    ``{field}`` placeholders filled from each record of ``parent`` (another endpoint of the
    source): its rows then carry ``parent_fields`` (column = parent field)."""

    path: str
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    records: str | None = None  # dotted path to the list of records ("data.items"); None: auto
    paginate: RestPaginate | None = None  # default: the source's
    primary_key: list[str] | None = None
    cursor: str | None = None  # a record field, also the incremental parameter's value
    cursor_param: str | None = None  # the query parameter that takes the last cursor value
    initial_value: str | None = None
    write: WriteDisposition | None = None
    parent: str | None = None
    parent_fields: dict[str, str] = Field(default_factory=dict)

    _pk = field_validator("primary_key", mode="before")(_as_list)


class RestSettings(_Strict):
    """A REST API: base URL, auth, paging, limits and its endpoints."""

    base_url: str
    headers: dict[str, str] = Field(default_factory=dict)
    auth: RestAuth | None = None
    paginate: RestPaginate = Field(default_factory=lambda: RestPaginate())
    # nested objects and lists of records: "columns" keeps them as STRUCT / LIST columns,
    # "tables" writes lists to child tables <table>__<field> (objects become field__key)
    nested: Literal["columns", "tables"] = "columns"
    timeout: float = Field(30.0, gt=0)  # seconds per request (connect, read)
    retries: int = Field(5, ge=0)  # more attempts of a request on 429, 5xx, connect errors
    backoff: float = Field(0.5, ge=0)  # first wait; doubled each retry (Retry-After wins)
    max_wait: float = Field(60.0, ge=0)  # longest single wait, Retry-After included
    requests_per_second: float | None = Field(default=None, gt=0)
    endpoints: dict[str, RestEndpoint]

    @model_validator(mode="after")
    def _parents_known(self) -> RestSettings:
        for name, endpoint in self.endpoints.items():
            if endpoint.parent is not None and endpoint.parent not in self.endpoints:
                raise ValueError(f"endpoint {name!r}: unknown parent {endpoint.parent!r}")
            if endpoint.parent == name:
                raise ValueError(f"endpoint {name!r} is its own parent")
        return self
