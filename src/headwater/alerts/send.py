"""Delivering one alert to one target: a webhook (JSON POST, retried with backoff) or a shell
command (the JSON on stdin). :func:`deliver` returns None when delivered, else one line
saying why not (redacted: a webhook's URL may hold a token, so it is never in the line)."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request

from headwater.config.secrets import interpolate, redact_text
from headwater.config.settings import AlertSettings
from headwater.errors import ConfigError

TIMEOUT_S = 5.0  # one webhook request
RETRIES = 3  # a failed request is retried this many times (4 tries in all)
BACKOFF_S = 0.5  # before retry n (1, 2, 3): BACKOFF_S * 2 ** (n - 1)
COMMAND_TIMEOUT_S = 30.0


def deliver(target: AlertSettings, body: bytes) -> str | None:
    """Send ``body`` (the JSON payload) to ``target``; None when delivered, else why not."""
    try:
        if target.webhook is not None:
            return _post(interpolate(target.webhook, where="alerts webhook"), body)
        return _run(target.command or "", body)
    except ConfigError as exc:  # an unset ${ENV} in the webhook's URL
        return str(exc)


def _post(url: str, body: bytes) -> str | None:
    """POST with :data:`RETRIES` retries on a connection error, a timeout or a 5xx/429
    answer; a 4xx answer is not retried (the same request would be refused again)."""
    why = ""
    for attempt in range(RETRIES + 1):
        if attempt:
            time.sleep(BACKOFF_S * 2 ** (attempt - 1))
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
                answer.read()
            return None
        except urllib.error.HTTPError as exc:
            why = f"HTTP {exc.code}"
            if exc.code < 500 and exc.code != 429:
                break
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            why = redact_text(str(reason))
    return f"webhook failed after {attempt + 1} tries: {why}"


def _run(command: str, body: bytes) -> str | None:
    """Run ``command`` in a shell with ``body`` on stdin; a non-zero exit is a failure."""
    try:
        done = subprocess.run(
            command,
            shell=True,
            input=body,
            capture_output=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return redact_text(f"command failed: {exc}")
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        tail = f": {redact_text(err[-1])[:200]}" if err else ""
        return f"command exited {done.returncode}{tail}"
    return None
