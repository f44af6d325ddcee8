"""An endpoint's pages, one list of records each: page number, offset/limit, a cursor in
the body, the ``Link`` header, a next-URL field, or a single request; with the stop
conditions of :class:`headwater.config.rest.RestPaginate`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from headwater.config.rest import RestPaginate
from headwater.errors import SourceError
from headwater.sources.rest.client import RestClient

Record = dict[str, Any]
_LIST_KEYS = ("data", "items", "results", "records", "rows")


def lookup(body: Any, path: str | None) -> Any:
    """The value at a dotted ``path`` of ``body`` (``$.`` and ``[*]`` allowed); None when
    any step is missing.

    >>> lookup({"data": {"items": [1]}}, "$.data.items[*]"), lookup({"a": 1}, "b")
    ([1], None)
    """
    if path is None:
        return None
    path = path.removeprefix("$").removeprefix(".").removesuffix("[*]")
    value = body
    for step in (s for s in path.split(".") if s):
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


def select(body: Any, selector: str | None, *, where: str) -> list[Record]:
    """The records of a response: at ``selector``, else the body itself if it is a list,
    else its first list under a usual key (data, items, results, records, rows)."""
    found = lookup(body, selector) if selector else _guess(body)
    if found is None and selector is None and isinstance(body, dict):
        found = [body]  # one object: one record
    if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
        shown = f"at {selector!r}" if selector else "(set records = 'path.to.list')"
        raise SourceError(f"{where}: the response has no list of records {shown}")
    return found


def _guess(body: Any) -> Any:
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in _LIST_KEYS:
            if isinstance(body.get(key), list):
                return body[key]
    return None


def pages(
    client: RestClient,
    url: str,
    params: dict[str, Any],
    paginate: RestPaginate,
    selector: str | None,
    *,
    endpoint: str,
) -> Iterator[list[Record]]:
    """The records of each page of ``url`` in order, until a stop condition holds."""
    where = f"{client.where} endpoint {endpoint!r}"
    kind = paginate.type
    page, offset, seen = paginate.first_page, 0, 0
    next_url: str | None = None
    cursor: Any = None
    while True:
        query: dict[str, Any] | None = dict(params)
        assert query is not None
        if kind == "page_number":
            query[paginate.page_param] = page
        elif kind == "offset":
            query[paginate.offset_param] = offset
        elif kind == "cursor" and cursor is not None:
            query[paginate.cursor_param] = cursor
        if kind in ("page_number", "offset") and paginate.size is not None:
            query[paginate.size_param or "limit"] = paginate.size
        target = url
        if next_url is not None:  # the next URL carries its own query
            target, query = next_url, None
        response = client.get(target, query, endpoint=endpoint)
        body = client.json(response, endpoint=endpoint)
        records = select(body, selector, where=where)
        if records:
            yield records
        seen += len(records)
        total = lookup(body, paginate.total_path)
        if not records or kind == "none":
            return
        if isinstance(total, int | float) and seen >= total:
            return
        if kind == "page_number" or kind == "offset":
            if paginate.size is not None and len(records) < paginate.size:
                return
            page += 1
            offset += len(records)
        elif kind == "cursor":
            cursor = lookup(body, paginate.cursor_path)
            if cursor in (None, ""):
                return
        else:
            next_url = _next_url(response, body, paginate)
            if next_url is None:
                return


def _next_url(response: httpx.Response, body: Any, paginate: RestPaginate) -> str | None:
    """The next page's URL, absolute: the ``Link`` header's or the body's field."""
    if paginate.type == "link":
        found = response.links.get("next", {}).get("url")
    else:
        found = lookup(body, paginate.next_path)
    if not found or not isinstance(found, str):
        return None
    return str(response.url.join(found))
