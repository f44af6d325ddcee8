"""The runs grid and the run page, in Chromium and over HTTP, on a server of this module's
own project (its runs would disturb the shared server's other pages): a pipeline ``mixed``
whose task ``boom`` fails with a 2 KB error (``after_boom`` is then upstream_failed), and a
pipeline ``slow`` whose task logs a line every 0.1 s until the file ``out/release`` exists,
and a pipeline ``spin`` whose model's query never ends (until cancelled).

Covered: the grid shows the runs and a failed step's cell as failed (its colour and its
description), filtering by status, the run page's steps and the failed step's whole error,
a running step's log streamed by server-sent events, cancel stops a running run, retry
reruns only what did not succeed, and a viewer sees no operator buttons and is refused.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from ui_server import UIServer, _start, add_user, csrf_of  # tests/ui/ui_server.py

from headwater.testing.cli import write_project

FILES = {
    "headwater.toml": (
        '[pipelines.mixed]\nselect = ["+marts.good", "boom", "after_boom"]\n\n'
        '[pipelines.slow]\nselect = ["slow"]\n\n'
        '[pipelines.spin]\nselect = ["marts.spin"]\n'
    ),
    "models/staging/base.sql": "select 1 as x\n",
    "models/marts/good.sql": "select x from staging.base\n",
    # a query that never ends (until cancelled): 10^12 rows summed
    "models/marts/spin.sql": (
        "-- headwater:\n--   materialized: table\n"
        "select sum(a.range + b.range) as n from range(1000000) a, range(1000000) b\n"
    ),
    "python/jobs.py": (
        "import time\n\nfrom headwater import task\n\n\n"
        "@task(depends_on=['staging.base'])\n"
        "def boom(ctx):\n"
        "    raise ValueError('bad input: ' + 'y' * 2000 + ' THE END')\n\n\n"
        "@task(depends_on=['boom'])\n"
        "def after_boom(ctx):\n"
        "    ctx.log.info('after')\n\n\n"
        "@task()\n"
        "def slow(ctx):\n"
        "    for n in range(1200):\n"
        "        ctx.log.info('tick %d', n)\n"
        "        if ctx.path('release').exists():\n"
        "            return\n"
        "        time.sleep(0.1)\n"
    ),
}
USERS = {"operator": ("olga", "olga-pass-1"), "viewer": ("vic", "vic-pass-1")}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UIServer]:
    root = write_project(tmp_path_factory.mktemp("ui_runs") / "runs", FILES, name="uiruns")
    for role, (name, password) in USERS.items():
        add_user(root, name, role, password)
    found = _start(root)
    yield found
    found.proc.send_signal(signal.SIGTERM)
    try:
        found.proc.wait(30)
    except subprocess.TimeoutExpired:
        found.proc.kill()


def _client(server: UIServer, role: str) -> tuple[httpx.Client, str]:
    """An httpx client logged in as ``role``'s user, and its CSRF token."""
    name, password = USERS[role]
    client = httpx.Client(base_url=server.url, timeout=30)
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]*)"', form)
    assert token
    done = client.post(
        "/login", data={"name": name, "password": password, "csrf_token": token.group(1)}
    )
    assert done.status_code == 303, done.text
    return client, csrf_of(client.get("/runs").text)


def _login(page: Any, server: UIServer, role: str) -> None:
    name, password = USERS[role]
    page.goto(server.url + "/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/($|\?)"))


def _wait(server: UIServer, run_id: str, done: Any, timeout: float = 60) -> dict[str, Any]:
    """The run's detail (GET /api/runs/{id}) once ``done(detail)`` holds."""
    deadline = time.monotonic() + timeout
    with server.api() as api:
        while True:
            detail: dict[str, Any] = api.get(f"/api/runs/{run_id}").json()
            if done(detail) or time.monotonic() > deadline:
                return detail
            time.sleep(0.1)


def _over(detail: dict[str, Any]) -> bool:
    return detail["run"]["status"] not in ("queued", "running")


def _step_running(step: str) -> Any:
    return lambda d: any(s["step"] == step and s["status"] == "running" for s in d["steps"])


def _release(server: UIServer, release: bool) -> None:
    """Let ``slow`` finish (its task returns once ``out/release`` exists), or stop doing so."""
    flag = server.root / "out" / "release"
    flag.parent.mkdir(exist_ok=True)
    if release:
        flag.touch()
    else:
        flag.unlink(missing_ok=True)


def _trigger(server: UIServer, pipeline: str) -> str:
    with server.api() as api:
        answer = api.post(f"/api/pipelines/{pipeline}/trigger")
    assert answer.status_code == 202, answer.text
    run_id: str = answer.json()["run_id"]
    return run_id


@pytest.fixture(scope="module")
def failed_run(server: UIServer) -> str:
    """A finished run of ``mixed``: boom failed, after_boom upstream_failed."""
    run_id = _trigger(server, "mixed")
    detail = _wait(server, run_id, _over)
    assert detail["run"]["status"] == "failed", detail
    return run_id


@pytest.fixture(scope="module")
def ok_run(server: UIServer) -> str:
    """A finished, successful run of ``slow`` (released at once)."""
    _release(server, True)
    try:
        run_id = _trigger(server, "slow")
        detail = _wait(server, run_id, _over)
    finally:
        _release(server, False)
    assert detail["run"]["status"] == "success", detail
    return run_id


def test_grid_shows_runs_and_a_failed_cell_as_failed(
    server: UIServer, failed_run: str, ok_run: str, page: Any
) -> None:
    _login(page, server, "viewer")
    page.goto(server.url + "/runs")
    listed = page.locator("#run-list tbody tr")
    assert page.locator("#run-list").get_by_role("link", name=failed_run).is_visible()
    assert page.locator("#run-list").get_by_role("link", name=ok_run).is_visible()
    assert listed.count() >= 2
    with server.api() as api:
        data = api.get("/api/grid").json()
    column = [r["run_id"] for r in data["runs"]].index(failed_run)
    row = data["steps"].index("boom")
    # the keyboard walks to the cell: its description says failed
    page.focus("#grid")
    for _ in range(column):
        page.keyboard.press("ArrowRight")
    for _ in range(row):
        page.keyboard.press("ArrowDown")
    status = page.locator("#grid-status")
    assert "boom: failed" in status.inner_text()
    assert failed_run in status.inner_text()
    # and it is drawn in the failed colour, the succeeded run's cell in the success colour
    css = page.evaluate(
        "() => ['--failed', '--success'].map(v => getComputedStyle(document.documentElement)"
        ".getPropertyValue(v).trim())"
    )
    assert _cell_colour(page, data, failed_run, "boom") == _rgb(css[0])
    assert _cell_colour(page, data, ok_run, "slow") == _rgb(css[1])
    page.focus("#grid")
    # Enter on the focused cell (as a click on it) opens that run at that step
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/runs/{failed_run}#step-boom$"))
    assert page.locator("#run-status").inner_text() == "failed"


def _cell_colour(page: Any, data: dict[str, Any], run_id: str, step: str) -> tuple[int, ...]:
    """The colour drawn at the centre of the grid's cell of ``run_id`` x ``step``, pointed
    at with the mouse (the grid then describes that cell)."""
    geometry = page.evaluate("() => JSON.parse(document.getElementById('grid').dataset.geometry)")
    column = [r["run_id"] for r in data["runs"]].index(run_id)
    row = data["steps"].index(step)
    x = geometry["label"] + column * geometry["cell"] + geometry["cell"] // 2
    y = geometry["header"] + row * geometry["cell"] + geometry["cell"] // 2
    box = page.locator("#grid").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    described = page.locator("#grid-status").inner_text()
    assert run_id in described and f"{step}: " in described, described
    pixel = page.evaluate(
        """([x, y]) => Array.from(document.getElementById('grid').getContext('2d')
            .getImageData(Math.round(x * devicePixelRatio), Math.round(y * devicePixelRatio), 1, 1)
            .data.slice(0, 3))""",
        [x, y],
    )
    return tuple(pixel)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


def test_filter_by_status(server: UIServer, failed_run: str, ok_run: str, page: Any) -> None:
    _login(page, server, "viewer")
    page.goto(server.url + "/runs")
    page.select_option("select[name=status]", "failed")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*/runs\?.*status=failed"))
    statuses = page.locator("#run-list tbody .status").all_inner_texts()
    assert statuses and set(statuses) == {"failed"}
    links = page.locator("#run-list tbody a").all_inner_texts()
    assert failed_run in links and ok_run not in links
    with server.api() as api:  # the same filter through the JSON API
        runs = api.get("/api/grid", params={"status": "success"}).json()["runs"]
    assert ok_run in [r["run_id"] for r in runs]
    assert {r["status"] for r in runs} == {"success"}


def test_run_page_shows_steps_and_the_whole_error(
    server: UIServer, failed_run: str, page: Any
) -> None:
    _login(page, server, "viewer")
    page.goto(f"{server.url}/runs/{failed_run}")
    rows = page.locator("#steps tbody tr[data-step]")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.step)")) == [
        "after_boom", "boom", "marts.good", "staging.base",
    ]  # fmt: skip
    assert page.locator("#step-boom .status").inner_text() == "failed"
    assert page.locator("#step-after_boom .status").inner_text() == "upstream_failed"
    error = page.get_by_label("Error of boom").inner_text()
    assert "y" * 2000 + " THE END" in error  # whole: the metastore keeps only 1 KB of it
    assert page.locator(".gantt-bar.failed").count() == 1  # boom's bar on the timeline


def test_log_of_a_running_step_streams_live(server: UIServer, page: Any) -> None:
    run_id = _trigger(server, "slow")
    try:
        _wait(server, run_id, _step_running("slow"))
        # over HTTP: server-sent events, lines arriving while the step runs
        client, _ = _client(server, "viewer")
        url = f"/api/runs/{run_id}/steps/slow/log/stream"
        seen: list[tuple[float, int]] = []  # (when it arrived, the tick's number)
        with client.stream("GET", url) as answer:
            assert answer.headers["content-type"].startswith("text/event-stream")
            began = time.monotonic()
            for line in answer.iter_lines():
                tick = re.fullmatch(r"data: .* INFO tick (\d+)", line)
                if tick:
                    seen.append((time.monotonic() - began, int(tick.group(1))))
                if time.monotonic() - began > 1.5:
                    break
        client.close()
        ticks = [n for _, n in seen]
        assert ticks == list(range(ticks[0], ticks[0] + len(ticks)))  # every line, in order
        assert ticks[0] == 0  # from the log's start
        late = [n for at, n in seen if at > 0.8]
        assert len(late) >= 3  # lines kept coming as the task logged them
        # in the browser: the log panel follows the step, then says it is complete
        _login(page, server, "viewer")
        page.goto(f"{server.url}/runs/{run_id}")
        page.locator("#step-slow").get_by_role("button", name="Log").click()
        page.wait_for_function(
            "() => (document.getElementById('log-text').textContent.match(/tick/g) || []).length >= 20"
        )
        assert page.locator("#log-state").inner_text() == "(following…)"
    finally:
        _release(server, True)
    try:
        page.wait_for_function(
            "() => document.getElementById('log-state').textContent.includes('complete')"
        )
        assert "success" in page.locator("#log-state").inner_text()
        assert _wait(server, run_id, _over)["run"]["status"] == "success"
    finally:
        _release(server, False)


def test_cancel_stops_a_running_run(server: UIServer, page: Any) -> None:
    run_id = _trigger(server, "spin")
    _wait(server, run_id, _step_running("marts.spin"))
    _login(page, server, "operator")
    page.goto(f"{server.url}/runs/{run_id}")
    page.get_by_role("button", name="Cancel").click()
    detail = _wait(server, run_id, _over, timeout=30)
    assert detail["run"]["status"] == "interrupted"
    (spin,) = detail["steps"]
    assert spin["status"] == "failed" and "cancelled (by request)" in spin["error"]
    page.wait_for_function(
        "() => document.getElementById('run-status').textContent.trim() === 'interrupted'"
    )
    assert page.get_by_role("button", name="Cancel").count() == 0


def test_retry_reruns_only_what_failed(server: UIServer, failed_run: str, page: Any) -> None:
    _login(page, server, "operator")
    page.goto(f"{server.url}/runs/{failed_run}")
    page.get_by_role("button", name="Retry from failure").click()
    page.wait_for_url(lambda u: "/runs/" in u and failed_run not in u)
    retry_id = page.url.rsplit("/", 1)[-1]
    detail = _wait(server, retry_id, _over)
    assert detail["run"]["kind"] == "retry"
    assert detail["run"]["parent_run_id"] == failed_run
    # boom failed again and after_boom waited on it; the steps that succeeded did not rerun
    assert {s["step"]: s["status"] for s in detail["steps"]} == {
        "boom": "failed", "after_boom": "upstream_failed",
    }  # fmt: skip
    page.reload()
    assert page.locator("#run-status").inner_text() == "failed"
    assert page.get_by_role("link", name=failed_run).is_visible()  # "retry of" its parent


def test_viewer_sees_no_operator_buttons_and_is_refused(
    server: UIServer, failed_run: str, page: Any
) -> None:
    _login(page, server, "viewer")
    page.goto(f"{server.url}/runs/{failed_run}")
    assert page.locator("#steps").is_visible()
    for name in ("Trigger mixed", "Retry from failure", "Cancel"):
        assert page.get_by_role("button", name=name).count() == 0
    viewer, csrf = _client(server, "viewer")
    headers = {"X-CSRF-Token": csrf}
    try:
        for path in (
            f"/api/runs/{failed_run}/retry",
            f"/api/runs/{failed_run}/cancel",
            "/api/pipelines/mixed/trigger",
        ):
            assert viewer.post(path, headers=headers).status_code == 403, path
    finally:
        viewer.close()
    operator, _ = _client(server, "operator")
    try:  # an operator's session without its CSRF token is refused too
        assert operator.post(f"/api/runs/{failed_run}/retry").status_code == 403
    finally:
        operator.close()
    operator_page_buttons = _buttons_as(server, "operator", failed_run, page)
    assert {"Trigger mixed", "Retry from failure"} <= operator_page_buttons


def _buttons_as(server: UIServer, role: str, run_id: str, page: Any) -> set[str]:
    page.context.clear_cookies()
    _login(page, server, role)
    page.goto(f"{server.url}/runs/{run_id}")
    return set(page.locator("#run-actions button").all_inner_texts())
