"""``${ENV}`` placeholders and redaction of credentials.

>>> import os; os.environ["HW_DOCTEST_PW"] = "s3cret"
>>> interpolate("postgresql://app:${HW_DOCTEST_PW}@db/shop")
'postgresql://app:s3cret@db/shop'
>>> redact("postgresql://app:s3cret@db/shop")
'postgresql://app:***@db/shop'
>>> os.environ["HW_DOCTEST_PW"] = "p@ss/w:rd#1"
>>> interpolate_url("postgresql://app:${HW_DOCTEST_PW}@db/shop")
'postgresql://app:p%40ss%2Fw%3Ard%231@db/shop'
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from urllib.parse import quote

from headwater.errors import ConfigError

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)@")
_KEY_VALUE = re.compile(r"(?i)\b(password|passwd|pwd|secret|token|api_key)=([^\s&;]+)")

# Values interpolated from the environment, remembered so redact_text can scrub them even
# when they show up outside a URL (a driver echoing its DSN, say).
_known_secrets: set[str] = set()


def interpolate(value: str, *, where: str = "", secret: bool = True) -> str:
    """Replace ``${NAME}`` (or ``${NAME:-default}``) with the environment's value.

    Raises :class:`ConfigError` naming ``where`` (e.g. ``headwater.toml:12``) and the variable
    when it is unset and has no default. Never puts the value itself in a message. The values
    are remembered for redaction unless ``secret`` is False (a file path, shown in messages).
    """

    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name)
        if found is None:
            if default is None:
                prefix = f"{where}: " if where else ""
                raise ConfigError(f"{prefix}environment variable {name} is not set")
            found = default
        if secret and len(found) >= 4:
            _known_secrets.add(found)
        return found

    return _PLACEHOLDER.sub(sub, value)


_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*://")
# URLs whose rest is a file path, read as it is (their connectors do not percent-decode)
_PATH_SCHEMES = frozenset({"sqlite", "file", "duckdb"})
# what each component keeps as it is; every other character is percent-encoded. The
# userinfo, path (a database name) and query (a parameter's value) keep only RFC 3986's
# unreserved characters, so a value holding @ / : # ? & = + % or a space stays one value;
# a host keeps ":" (a port) and "[]" (an IPv6 literal).
_SAFE = {"userinfo": "", "host": ":[]", "path": "", "query": "", "fragment": ""}


def interpolate_url(url: str, *, where: str = "") -> str:
    """:func:`interpolate` for a connection URL: each value is percent-encoded for the
    component it lands in (userinfo, host, path, query value, fragment), so that a password
    such as ``p@ss/w:rd#1`` stays the password; connectors decode the components
    (``urllib.parse.unquote``, libpq). A URL whose scheme names a file (``sqlite:///...``)
    is interpolated as it is: its path is never decoded. Encoded values are redacted too.

    >>> os.environ["HW_DOCTEST_DB"] = "a b?c"
    >>> interpolate_url("mysql://u@h:3306/${HW_DOCTEST_DB}?ssl-ca=${HW_DOCTEST_DB}")
    'mysql://u@h:3306/a%20b%3Fc?ssl-ca=a%20b%3Fc'
    """
    scheme = _SCHEME.match(url)
    if scheme is None or scheme[0][:-3].split("+")[0].lower() in _PATH_SCHEMES:
        return interpolate(url, where=where)
    # where each component ends, read on the URL with every placeholder masked (a default
    # value may hold any character); a placeholder belongs to the component it starts in
    masked = _PLACEHOLDER.sub(lambda m: "x" * len(m[0]), url)
    authority_end = _find(masked, "/?#", scheme.end())
    userinfo_end = masked.rfind("@", scheme.end(), authority_end)
    query_start = _find(masked, "?#", authority_end)
    fragment_start = _find(masked, "#", query_start)

    def component(at: int) -> str:
        if at < userinfo_end:
            return "userinfo"
        if at < authority_end:
            return "host"
        return "path" if at < query_start else "query" if at < fragment_start else "fragment"

    def sub(match: re.Match[str]) -> str:
        value = interpolate(match[0], where=where)
        encoded = quote(value, safe=_SAFE[component(match.start())])
        if len(encoded) >= 4 and encoded != value:
            _known_secrets.add(encoded)
        return encoded

    return _PLACEHOLDER.sub(sub, url)


def _find(text: str, chars: str, start: int) -> int:
    """Index of the first of ``chars`` in ``text`` from ``start``; ``len(text)`` if none."""
    found = [i for i in (text.find(c, start) for c in chars) if i >= 0]
    return min(found, default=len(text))


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
