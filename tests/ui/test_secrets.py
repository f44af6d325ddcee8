"""No page and no API answer ever shows the test project's connection password: logged in as
admin, crawl every same-origin link from the overview (new pages are covered by being
linked) and GET every ``/api`` path of ``/openapi.json`` with sample ids."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from urllib.parse import quote, urljoin, urlsplit

from ui_server import SECRET, Session

MAX_PAGES = 400
SAMPLES = {  # path parameter -> a value that exists in the test project
    "asset": "raw.shop_orders",
    "name": "daily",
    "pipeline": "daily",
}
_HREF = re.compile(r'(?:href|src|hx-get)="([^"#]+)')


def _ensure_a_run(admin: Session) -> str:
    runs = admin.get("/api/runs").json()
    if runs:
        return str(runs[0]["run_id"])
    run_id = str(admin.post("/api/pipelines/daily/trigger").json()["run_id"])
    deadline = time.monotonic() + 60
    while admin.get(f"/api/runs/{run_id}").json()["run"]["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.2)
    return run_id


def _leaks(body: str) -> bool:
    return SECRET in body or quote(SECRET) in body


def test_no_page_or_api_answer_shows_the_connection_password(
    as_role: Callable[[str], Session],
) -> None:
    admin = as_role("admin")
    samples = {**SAMPLES, "run_id": _ensure_a_run(admin)}
    base = str(admin.client.base_url)
    seen: set[str] = set()
    todo = ["/"]
    leaked: list[str] = []
    while todo and len(seen) < MAX_PAGES:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        answer = admin.get(path)
        if _leaks(answer.text):
            leaked.append(path)
        if "html" not in answer.headers.get("content-type", ""):
            continue
        for link in _HREF.findall(answer.text):
            target = urlsplit(urljoin(base + path, link.replace("&amp;", "&")))
            if target.netloc != urlsplit(base).netloc or target.path.endswith("/logout"):
                continue
            todo.append(target.path + ("?" + target.query if target.query else ""))
    pages = len(seen)

    spec = admin.get("/openapi.json").json()
    api_paths = [p for p, ops in spec["paths"].items() if "get" in ops and p.startswith("/api")]
    for template in api_paths:
        path = re.sub(r"\{(\w+)\}", lambda m: quote(samples.get(m.group(1), "x")), template)
        answer = admin.get(path)
        seen.add(path)
        if _leaks(answer.text):
            leaked.append(path)

    assert pages >= 2, "the crawl found no page beyond the overview"
    assert "/api/runs" in api_paths and "/api/overview" in api_paths
    assert leaked == [], f"the connection password shows in {leaked}"
