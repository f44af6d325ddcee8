"""Checks every page must pass in every browser tested (imported by name, as ``ui_server``):
the pages of the session's server (:func:`pages`), each with a JS expression true once its
main content is rendered and, for some, its main action; keyboard checks (Tab reaches the
skip link, the navigation links in order, then the page's main action; Enter follows a
link) and the narrow-window check (no sideways scroll of the page at 400 px).

A check drives a :class:`Driver`, so the same assertions run in Chromium (Playwright,
:class:`PlaywrightDriver`) and in Firefox (WebDriver BiDi, :class:`FirefoxDriver`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from headwater.ui.render import NAV

NAV_LABELS = [label for _, label in NAV]
NARROW = (400, 800)  # a phone held upright, in CSS pixels
SUCCESS_RGB = (0x2E, 0x7D, 0x32)  # --success of headwater.css (and graph.js's success)
ASSET = "marts.customer_orders"  # built by the ``daily`` run
QUERY = "select id, orders from marts.customer_orders order by id"


@dataclass(frozen=True)
class PageSpec:
    """A page: its path, a JS expression true once its main content is rendered, and the
    CSS selector of its main action (what Tab must reach after the navigation), if any."""

    name: str
    path: str
    ready: str
    action: str | None = None


def pages(run_id: str) -> list[PageSpec]:
    """Every page of the UI on the session's server, ``run_id`` a finished run of daily."""
    return [
        PageSpec("overview", "/", "document.querySelector('tr[data-pipeline=daily]')",
                 "#run-actions button"),
        PageSpec("runs grid", "/runs", "document.querySelector('#grid[data-geometry]')", "#grid"),
        PageSpec("run detail", f"/runs/{run_id}", "document.querySelector('#steps tr[data-step]')",
                 "#run-actions button"),
        PageSpec("asset", f"/assets/{ASSET}", "document.querySelector('#chart-seconds .uplot canvas')"),
        PageSpec("graph", "/graph",
                 "window.hwGraph && window.hwGraph.timings.firstDraw !== null", "#graph-find"),
        PageSpec("quarantine", "/quarantine",
                 "document.querySelector(\"table[aria-label='quarantined assets']\")"),
        PageSpec("query", "/query?sql=" + quote(QUERY),
                 "document.querySelector('table[aria-label=result] tbody tr')", "#sql"),
        PageSpec("backfill", "/backfill", "document.querySelector('#pipeline')", "#pipeline"),
        PageSpec("store", "/store", "document.getElementById('not-demo')"),
    ]  # fmt: skip


class Driver(Protocol):
    """What the checks need of a browser tab."""

    def goto(self, url: str) -> None: ...
    def js(self, expression: str) -> Any: ...
    def wait_js(self, expression: str) -> Any: ...
    def press(self, key: str) -> None: ...
    def press_and_wait_load(self, key: str) -> None: ...
    def viewport(self, width: int, height: int) -> None: ...


class PlaywrightDriver:
    """A Playwright page (Chromium) as a :class:`Driver`."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def goto(self, url: str) -> None:
        self.page.goto(url)

    def js(self, expression: str) -> Any:
        return self.page.evaluate(expression)

    def wait_js(self, expression: str) -> Any:
        return self.page.wait_for_function(expression).json_value()

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def press_and_wait_load(self, key: str) -> None:
        with self.page.expect_navigation():
            self.page.keyboard.press(key)

    def viewport(self, width: int, height: int) -> None:
        self.page.set_viewport_size({"width": width, "height": height})


class FirefoxDriver:
    """A ``headwater.testing.firefox.Tab`` as a :class:`Driver`."""

    def __init__(self, tab: Any) -> None:
        self.tab = tab

    def goto(self, url: str) -> None:
        self.tab.navigate(url)

    def js(self, expression: str) -> Any:
        return self.tab.evaluate(expression)

    def wait_js(self, expression: str) -> Any:
        return self.tab.wait_for(expression)

    def press(self, key: str) -> None:
        self.tab.press(key)

    def press_and_wait_load(self, key: str) -> None:
        before = self.tab.loads()
        self.tab.press(key)
        self.tab.wait_load(before)

    def viewport(self, width: int, height: int) -> None:
        self.tab.set_viewport(width, height)


# The focused element: its label, whether it is in the navigation or in <main>, and whether
# it matches the selector given.
_FOCUSED = """(selector => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const label = (e.getAttribute('aria-label') || e.innerText || e.value || e.id || '').trim();
  return {label: label.slice(0, 60), tag: e.tagName.toLowerCase(), nav: !!e.closest('nav'),
          main: !!e.closest('main'), action: !!selector && e.matches(selector)};
})"""

# How wide the page is against the window, and the first elements sticking out of it (to
# say which, when the page scrolls sideways): those in a box that scrolls or clips its
# content sideways do not count (a wide table scrolls in its own box).
_OVERFLOW = """(() => {
  const boxed = e => {
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true;
    }
    return false;
  };
  const wide = [...document.body.querySelectorAll('*')]
    .filter(e => e.getBoundingClientRect().right > innerWidth + 0.5 && !boxed(e))
    .slice(0, 6)
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
      (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\\s+/).join('.') : ''));
  return {scroll: document.documentElement.scrollWidth, inner: innerWidth, wide: wide};
})()"""


def canvas_pixels(driver: Driver, selector: str, rgb: tuple[int, int, int] | None = None) -> int:
    """How many pixels of the first canvas matching ``selector`` are drawn (not fully
    transparent), or are opaque ``rgb`` (within 2 per channel) when given; -1 if there is no
    such canvas or it has no size."""
    return int(
        driver.js(
            f"""((selector, rgb) => {{
  const c = document.querySelector(selector);
  if (!c || !c.width || !c.height) return -1;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {{
    if (rgb ? d[i + 3] === 255 && Math.abs(d[i] - rgb[0]) <= 2 && Math.abs(d[i + 1] - rgb[1]) <= 2
              && Math.abs(d[i + 2] - rgb[2]) <= 2 : d[i + 3] > 0) n++;
  }}
  return n;
}})({json.dumps(selector)}, {json.dumps(rgb)})"""
        )
    )


def tab_stops(driver: Driver, action: str | None, limit: int = 150) -> list[dict[str, Any]]:
    """Press Tab from the top of the loaded page until ``action`` has the focus (or
    ``limit`` presses): what had the focus after each press."""
    stops: list[dict[str, Any]] = []
    for _ in range(limit):
        driver.press("Tab")
        here = driver.js(f"{_FOCUSED}({json.dumps(action)})")
        stops.append(here or {"label": "(nothing)", "nav": False, "main": False, "action": False})
        if here and here["action"]:
            break
    return stops


def check_keyboard_order(driver: Driver, base_url: str, page: PageSpec) -> None:
    """Tab reaches the skip link first, then the navigation's links in their order, then
    (later, inside <main>) the page's main action."""
    assert page.action, page.name
    driver.goto(base_url + page.path)
    driver.wait_js(page.ready)
    stops = tab_stops(driver, page.action)
    labels = [s["label"] for s in stops]
    assert labels[0] == "Skip to content", f"{page.name}: the first Tab stop is {labels[0]!r}"
    assert [s["label"] for s in stops if s["nav"]] == NAV_LABELS, f"{page.name}: {labels}"
    assert stops[-1]["action"], f"{page.name}: Tab never reached {page.action}: {labels}"
    last_nav = max(i for i, s in enumerate(stops) if s["nav"])
    assert last_nav < len(stops) - 1 and stops[-1]["main"], f"{page.name}: {labels}"


def check_enter_follows_links(driver: Driver, base_url: str) -> None:
    """On the overview, Enter on the skip link puts the focus in <main>; Tab to the
    navigation's "Runs" and Enter opens the runs grid."""
    driver.goto(base_url + "/")
    driver.press("Tab")
    driver.press("Enter")
    assert driver.js("document.activeElement.id") == "main"
    driver.goto(base_url + "/")
    stops = tab_stops(driver, "nav a[href$='/runs']", limit=len(NAV_LABELS) + 2)
    assert stops[-1]["action"], [s["label"] for s in stops]
    driver.press_and_wait_load("Enter")
    assert driver.js("location.pathname") == "/runs"
    driver.wait_js("document.querySelector('#grid[data-geometry]')")


def check_narrow(driver: Driver, base_url: str, page: PageSpec) -> None:
    """At :data:`NARROW` (set by the caller) the page does not scroll sideways: anything
    wide scrolls in its own box."""
    driver.goto(base_url + page.path)
    driver.wait_js(page.ready)
    found = driver.js(_OVERFLOW)
    assert found["scroll"] <= found["inner"], (
        f"{page.name} ({page.path}) is {found['scroll']} px wide in a {found['inner']} px "
        f"window; sticking out: {found['wide']}"
    )
