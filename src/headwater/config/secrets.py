"""``${ENV}`` placeholders and redaction of credentials.

>>> import os; os.environ["HW_DOCTEST_PW"] = "s3cret"
>>> interpolate("postgresql://app:${HW_DOCTEST_PW}@db/shop")
'postgresql://app:s3cret@db/shop'
>>> redact("postgresql://app:s3cret@db/shop")
'postgresql://app:***@db/shop'
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from headwater.errors import ConfigError

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)@")
_KEY_VALUE = re.compile(r"(?i)\b(password|passwd|pwd|secret|token|api_key)=([^\s&;]+)")

# Values interpolated from the environment, remembered so redact_text can scrub them even
# when they show up outside a URL (a driver echoing its DSN, say).
_known_secrets: set[str] = set()


def interpolate(value: str, *, where: str = "") -> str:
    """Replace ``${NAME}`` (or ``${NAME:-default}``) with the environment's value.

    Raises :class:`ConfigError` naming ``where`` (e.g. ``headwater.toml:12``) and the variable
    when it is unset and has no default. Never puts the value itself in a message.
    """

    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name)
        if found is None:
            if default is None:
                prefix = f"{where}: " if where else ""
                raise ConfigError(f"{prefix}environment variable {name} is not set")
            found = default
        if len(found) >= 4:
            _known_secrets.add(found)
        return found

    return _PLACEHOLDER.sub(sub, value)


def redact(url: str) -> str:
    """Hide the password of a URL (``user:***@host``) and ``password=...`` parameters."""
    url = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}***@" if m.group("pw") else m[0], url)
    return _KEY_VALUE.sub(lambda m: f"{m.group(1)}=***", url)


def redact_text(text: str, *, also: Iterable[str] = ()) -> str:
    """Redact URLs in free text, every secret value read through :func:`interpolate`, and
    the secrets in ``also`` (a connection's password, say).

    Longer secrets go first: one that contains another must not lose only its middle.

    >>> redact_text("denied for s3cret!x", also=["s3cret!x", "s3cret"])
    'denied for ***'
    """
    text = redact(text)
    for secret in sorted({*_known_secrets, *(s for s in also if s)}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
