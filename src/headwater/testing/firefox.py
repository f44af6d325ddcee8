"""A headless Firefox for tests, driven over WebDriver BiDi, the W3C protocol Firefox speaks
itself (no geckodriver, no browser build of Playwright's; Debian's ``firefox-esr`` will do)::

    with Firefox() as firefox:
        tab = firefox.new_tab()                # its own user context: its own cookies
        tab.navigate(url)                      # returns once the page's load event fired
        title = tab.evaluate("document.title")
        tab.press("Tab", "Enter")              # real key events, as a person types them
        tab.set_viewport(400, 800)
        assert not tab.errors()                # JS errors and console.error of this tab

Firefox listens on 127.0.0.1 only, on a port it chooses (read from the profile's
``WebDriverBiDiServer.json``), with a throwaway profile in a temporary folder. ``close()``
(or leaving the ``with``) closes the browser, ends its process group and removes the
profile; the kernel ends Firefox too if the process that started it dies.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from headwater.testing.servers._process import _pdeathsig, _tail

# WebDriver's code points of the keys :meth:`Tab.press` knows by name (any single
# character is sent as itself).
KEYS = {
    "Backspace": "\ue003", "Tab": "\ue004", "Enter": "\ue007", "Shift": "\ue008",
    "Control": "\ue009", "Alt": "\ue00a", "Escape": "\ue00c", "Space": " ",
    "PageUp": "\ue00e", "PageDown": "\ue00f", "End": "\ue010", "Home": "\ue011",
    "ArrowLeft": "\ue012", "ArrowUp": "\ue013", "ArrowRight": "\ue014", "ArrowDown": "\ue015",
}  # fmt: skip
# Quiet, predictable Firefox: no first-run pages, default-browser question or saved
# passwords (Firefox's remote agent sets its own recommended preferences on top).
PREFS = {
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.page": 0,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "signon.rememberSignons": False,
    "app.update.auto": False,
}


class BiDiError(RuntimeError):
    """Firefox refused a command, a script threw, or an answer did not come in time."""


@dataclass(frozen=True)
class LogEntry:
    """One ``log.entryAdded`` event: a JS error (``kind`` "javascript") or a console call."""

    context: str | None
    level: str
    kind: str
    text: str


def firefox_binary() -> str | None:
    """``$HEADWATER_FIREFOX``, else ``firefox-esr`` or ``firefox`` from PATH, else None."""
    return (
        os.environ.get("HEADWATER_FIREFOX")
        or shutil.which("firefox-esr")
        or shutil.which("firefox")
    )


class Firefox:
    """One headless Firefox process and its BiDi session (not thread-safe: one caller)."""

    def __init__(self, binary: str | None = None, *, timeout: float = 30.0) -> None:
        found = binary or firefox_binary()
        if not found:
            raise BiDiError("no Firefox found: install firefox-esr (make system-deps)")
        self.binary = found
        self.timeout = timeout
        self.log: list[LogEntry] = []
        self.loads: dict[str, int] = {}  # browsing context -> load events seen
        self._profile = Path(tempfile.mkdtemp(prefix="headwater-firefox-"))
        self._proc: subprocess.Popen[bytes] | None = None
        self._ws: ClientConnection | None = None
        self._closing = contextlib.ExitStack()  # the websocket, closed by close()
        self._last_id = 0

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start Firefox, connect to it and open a session that hears logs and loads."""
        (self._profile / "user.js").write_text(
            "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in PREFS.items())
        )
        stderr = open(self._profile.parent / f"{self._profile.name}.log", "wb")  # noqa: SIM115
        with stderr:
            self._proc = subprocess.Popen(
                [self.binary, "--headless", "--no-remote", "--profile", str(self._profile),
                 "--remote-debugging-port", "0"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                env={**os.environ, "MOZ_CRASHREPORTER_DISABLE": "1"},
                start_new_session=True,  # its content processes die with it in close()
                preexec_fn=_pdeathsig(signal.SIGKILL),
            )  # fmt: skip
        port = self._wait_port(Path(stderr.name))
        # no Origin header (Firefox refuses one it was not told to allow); screenshots are
        # megabytes, above websockets' 1 MiB default
        self._ws = self._closing.enter_context(
            connect(f"ws://127.0.0.1:{port}/session", max_size=None, open_timeout=10)
        )
        self.command("session.new", {"capabilities": {}})
        self.command("session.subscribe", {"events": ["log.entryAdded", "browsingContext.load"]})

    def _wait_port(self, stderr: Path) -> int:
        server = self._profile / "WebDriverBiDiServer.json"  # written once it listens
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise BiDiError(f"Firefox exited {self._proc.returncode}: {_tail(stderr, 10)}")
            try:
                port: int = json.loads(server.read_text())["ws_port"]
                return port
            except (OSError, ValueError, KeyError):
                time.sleep(0.05)
        self.close()
        raise BiDiError(f"Firefox did not listen within {self.timeout:.0f} s")

    def command(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one BiDi command and return its result (events that come first are kept:
        :attr:`log`, :attr:`loads`); an error answer raises :class:`BiDiError`."""
        if self._ws is None:
            raise BiDiError("Firefox is not started")
        self._last_id += 1
        ident = self._last_id
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._receive(deadline, method)
            if message.get("id") != ident:
                continue
            if message.get("type") == "error":
                raise BiDiError(f"{method}: {message.get('error')}: {message.get('message')}")
            result: dict[str, Any] = message["result"]
            return result

    def wait_event(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        """Take events until ``done()`` holds (or raise :class:`BiDiError` after
        ``timeout`` seconds, saying ``what`` was awaited)."""
        deadline = time.monotonic() + timeout
        while not done():
            self._receive(deadline, what)

    def _receive(self, deadline: float, what: str) -> dict[str, Any]:
        assert self._ws is not None
        try:
            raw = self._ws.recv(timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise BiDiError(f"{what}: no answer from Firefox in time") from None
        message: dict[str, Any] = json.loads(raw)
        if message.get("type") == "event":
            self._event(message["method"], message["params"])
        return message

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "log.entryAdded":
            source = params.get("source") or {}
            self.log.append(
                LogEntry(source.get("context"), params["level"], params["type"], params["text"])
            )
        elif method == "browsingContext.load":
            self.loads[params["context"]] = self.loads.get(params["context"], 0) + 1

    def new_tab(self) -> Tab:
        """A new tab in a new user context: cookies and storage of its own."""
        user = self.command("browser.createUserContext")["userContext"]
        made = self.command("browsingContext.create", {"type": "tab", "userContext": user})
        return Tab(self, made["context"], user)

    def close(self) -> None:
        """Close the browser, end its processes, remove the profile (safe to call twice)."""
        if self._ws is not None:
            # closing anyway: a Firefox that does not answer has its process group ended
            with contextlib.suppress(BiDiError, ConnectionClosed, OSError):
                self.command("browser.close")
            self._closing.close()
            self._ws = None
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(10)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)  # content processes left behind
            self._proc.wait()
            self._proc = None
        shutil.rmtree(self._profile, ignore_errors=True)
        Path(f"{self._profile}.log").unlink(missing_ok=True)


class Tab:
    """One top-level browsing context of a :class:`Firefox`."""

    def __init__(self, firefox: Firefox, context: str, user_context: str) -> None:
        self.firefox = firefox
        self.context = context
        self.user_context = user_context

    def navigate(self, url: str) -> None:
        """Open ``url`` and return once its load event fired (deferred scripts have run)."""
        self.firefox.command(
            "browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"}
        )

    def evaluate(self, expression: str) -> Any:
        """The value of a JS expression (promises awaited) as Python: numbers, strings,
        booleans, None, lists and dicts. A thrown exception raises :class:`BiDiError`."""
        done = self.firefox.command(
            "script.evaluate",
            {
                "expression": expression,
                "target": {"context": self.context},
                "awaitPromise": True,
                "resultOwnership": "none",
                "serializationOptions": {"maxObjectDepth": 10, "maxDomDepth": 0},
            },
        )
        if done["type"] == "exception":
            raise BiDiError(f"script threw: {done['exceptionDetails']['text']}")
        return _plain(done["result"])

    def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        """Evaluate ``expression`` until it is truthy and return its value; a page being
        replaced meanwhile (a navigation) is waited through."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
                if value:
                    return value
            except BiDiError as exc:
                last = f" (last error: {exc})"
            time.sleep(0.05)
        raise BiDiError(f"not true within {timeout:.0f} s: {expression}{last}")

    def loads(self) -> int:
        """How many pages have finished loading in this tab so far."""
        return self.firefox.loads.get(self.context, 0)

    def wait_load(self, after: int, timeout: float = 15.0) -> None:
        """Wait until a page load beyond the first ``after`` finished (take ``after`` from
        :meth:`loads` before the click or key that navigates)."""
        self.firefox.wait_event(lambda: self.loads() > after, timeout, "a page load")

    def press(self, *keys: str) -> None:
        """Press and release each key in turn ("Tab", "Enter", "a", or a chord such as
        "Shift+Tab"), as real keyboard events to the focused element."""
        actions: list[dict[str, str]] = []
        for key in keys:
            chord = [KEYS.get(part, part) for part in key.split("+")] if len(key) > 1 else [key]
            actions += [{"type": "keyDown", "value": k} for k in chord]
            actions += [{"type": "keyUp", "value": k} for k in reversed(chord)]
        self._keys(actions)

    def type(self, text: str) -> None:
        """Type ``text`` into the focused element, one character's key events at a time."""
        actions: list[dict[str, str]] = []
        for char in text:
            actions += [{"type": "keyDown", "value": char}, {"type": "keyUp", "value": char}]
        self._keys(actions)

    def _keys(self, actions: list[dict[str, str]]) -> None:
        source = {"type": "key", "id": "keyboard", "actions": actions}
        self.firefox.command("input.performActions", {"context": self.context, "actions": [source]})

    def set_viewport(self, width: int, height: int) -> None:
        """Size the page's viewport in CSS pixels (as a window that size would)."""
        self.firefox.command(
            "browsingContext.setViewport",
            {"context": self.context, "viewport": {"width": width, "height": height}},
        )

    def screenshot(self) -> bytes:
        """A PNG of the viewport."""
        shot = self.firefox.command("browsingContext.captureScreenshot", {"context": self.context})
        return base64.b64decode(shot["data"])

    def errors(self) -> list[str]:
        """The texts of this tab's JS errors and ``console.error`` calls so far."""
        return [
            e.text for e in self.firefox.log if e.context == self.context and e.level == "error"
        ]

    def close(self) -> None:
        """Close the tab and drop its user context (its cookies)."""
        self.firefox.command("browsingContext.close", {"context": self.context})
        self.firefox.command("browser.removeUserContext", {"userContext": self.user_context})


def _plain(value: dict[str, Any]) -> Any:
    """A BiDi remote value as a Python value (nodes, functions and the like stay as BiDi
    gave them: a dict with their ``type``)."""
    kind, data = value["type"], value.get("value")
    if kind in ("undefined", "null"):
        return None
    if kind == "number" and isinstance(data, str):  # "NaN", "-0", "Infinity", "-Infinity"
        return float(data)
    if kind in ("string", "boolean", "number"):
        return data
    if kind == "bigint":
        return int(str(data))
    if kind in ("array", "set"):
        return [_plain(v) for v in data or []]
    if kind in ("object", "map"):
        return {k if isinstance(k, str) else _plain(k): _plain(v) for k, v in data or []}
    return value
