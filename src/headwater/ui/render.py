"""Server-rendered pages: :func:`render` a template of ``ui/templates`` with the context
every page shares, and :func:`url` for every link (never a hard-coded absolute path: behind
a reverse proxy the server lives under its root path).

Templates are Jinja2 with autoescape on: a value is HTML-escaped unless a template marks it
``|safe`` (don't, for data). Every template gets, besides the caller's context:

- ``request``; ``user``: the :class:`~headwater.ui.auth.Principal` (or None on the login page);
- ``csrf_token``: the session's, for hidden form fields (``base.html`` also puts it in a
  ``<meta name="csrf-token">`` that htmx sends as the ``X-CSRF-Token`` header);
- ``url(name, **params)``: the path of route ``name`` (path parameters by name, anything else
  becomes the query string); ``static(path)``: the path of a file of ``ui/static``;
- ``nav``: the navigation entries whose pages exist (see :data:`NAV`);
- ``can(role)``: whether the user has ``role`` (hide buttons the user may not use);
- filters ``ago`` (an instant as "3 min ago"), ``when`` (ISO minute, UTC) and ``duration``
  (seconds as "1 m 05 s").
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import NoMatchFound

TEMPLATES = Path(__file__).resolve().parent / "templates"

# (route name, label): the navigation bar, in order; an entry shows once a page of that
# route name is mounted (pages are added by modules of headwater.ui.pages)
NAV: tuple[tuple[str, str], ...] = (
    ("overview", "Overview"),
    ("runs", "Runs"),
    ("graph", "Graph"),
    ("quarantine", "Quarantine"),
    ("query", "Query"),
    ("backfill", "Backfill"),
    ("store", "Store"),
)

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,  # a misspelt name fails the test that renders it
    trim_blocks=True,
    lstrip_blocks=True,
)


def url(request: Request, name: str, /, **params: Any) -> str:
    """The path (with the server's root path) of route ``name``: its path parameters from
    ``params``, the other ``params`` (None left out) as the query string."""
    route_params: dict[str, Any] = {}
    query: dict[str, Any] = {}
    names = _path_params(request, name)
    for key, value in params.items():
        if key in names:
            route_params[key] = str(value)
        elif value is not None:
            query[key] = value
    path = request.app.url_path_for(name, **route_params)
    root = request.scope.get("root_path", "")
    return root + str(path) + ("?" + urlencode(query, doseq=True) if query else "")


def _path_params(request: Request, name: str) -> set[str]:
    for route in _routes(request.app.routes):
        if getattr(route, "name", None) == name:
            return set(getattr(route, "param_convertors", {}))
    return set()


def _routes(routes: Any) -> Any:
    """Every route, those of included routers too (FastAPI >= 0.165 keeps an included
    router as one ``_IncludedRouter`` entry holding its ``original_router``)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield route


def _is_page(request: Request, name: str) -> bool:
    """Whether a page (not a JSON endpoint: FastAPI names those after their functions,
    e.g. ``backfill``) called ``name`` is mounted, with no path parameter."""
    return any(
        getattr(r, "name", None) == name
        and not getattr(r, "path", "").startswith("/api")
        and not getattr(r, "param_convertors", None)
        for r in _routes(request.app.routes)
    )


def has_route(request: Request, name: str) -> bool:
    """Whether a route called ``name`` is mounted."""
    return any(getattr(r, "name", None) == name for r in _routes(request.app.routes))


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """``template`` rendered with ``context`` and the shared context (module docstring)."""
    from headwater.ui.auth import principal

    who = principal(request)
    shared: dict[str, Any] = {
        "request": request,
        "user": who,
        "csrf_token": who.csrf_token if who is not None and who.csrf_token else "",
        # positional-only: a route may have a path parameter called "name" (a pipeline's)
        "url": lambda name, /, **p: url(request, name, **p),
        "static": lambda path: url(request, "static", path=path),
        "nav": [(n, label) for n, label in NAV if _is_page(request, n)],
        "can": lambda role: who is not None and who.allows(role),
        "title": "",
    }
    shared.update(context)
    html = _env.get_template(template).render(shared)
    return HTMLResponse(html, status_code=status_code)


_TITLES = {400: "Cannot do that", 403: "Forbidden", 404: "Not found", 409: "Busy"}


def error_page(request: Request, message: str, status_code: int) -> HTMLResponse:
    """A page saying ``message`` (one line, never a traceback) with ``status_code``."""
    title = _TITLES.get(status_code, "Error")
    return render(request, "error.html", status_code=status_code, title=title, message=message)


def ago(at: datetime | None, now: datetime | None = None) -> str:
    """``at`` as "12 s ago", "5 min ago", "3 h ago", "2 d ago"; "never" for None."""
    if at is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - at).total_seconds()
    if seconds < 0:
        return "in " + duration(-seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def when(at: datetime | None) -> str:
    """``at`` to the minute, in UTC ("2026-12-07 04:05 UTC"); "" for None."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else ""


def duration(seconds: float | None) -> str:
    """Seconds as "0.4 s", "12 s", "3 m 05 s", "2 h 01 m"; "" for None."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{int(seconds)} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} m {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} m"


_env.filters.update(ago=ago, when=when, duration=duration)

__all__ = [
    "NAV",
    "TEMPLATES",
    "NoMatchFound",
    "ago",
    "duration",
    "error_page",
    "has_route",
    "render",
    "url",
]
