"""Turn driver errors into one clear line naming the connection, never its password."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from headwater.config.secrets import redact_text
from headwater.errors import ConnectionError_, HeadwaterError, SourceError
from headwater.sources.postgres.pgtypes import ColumnPlan, multidimensional_column

CONNECT_TIMEOUT = 10  # seconds, unless the URL sets connect_timeout


class LostConnection(ConnectionError_):
    """The server cannot be reached or went away: retried by the runtime with backoff."""

    transient = True


@dataclass(frozen=True)
class Address:
    """Where a connection points, for messages: ``name`` and ``host:port/database``."""

    name: str
    uri: str = field(repr=False)  # for libpq: password included; never shown
    where: str  # host:port/database
    password: str = field(repr=False)

    @classmethod
    def parse(cls, url: str, name: str) -> Address:
        """Read ``url`` as libpq does, including ``host``, ``port`` and ``dbname`` given as
        parameters (a unix socket's folder is a ``host`` parameter).

        >>> Address.parse("postgresql://app:pw@db:6432/shop", "c").where
        'db:6432/shop'
        >>> Address.parse("postgresql://app@/shop?host=/run/postgresql&port=5433", "c").where
        '/run/postgresql:5433/shop'
        """
        parts = urlsplit(url)
        scheme = "postgresql"
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        host = query.get("host") or parts.hostname or "localhost"
        try:
            port = int(query.get("port") or parts.port or 5432)
        except ValueError:
            raise ConnectionError_(f"connection {name!r}: the URL has an invalid port") from None
        database = (
            query.get("dbname") or unquote(parts.path.lstrip("/")) or unquote(parts.username or "")
        )
        password = unquote(parts.password or "")
        query.setdefault("connect_timeout", str(CONNECT_TIMEOUT))
        query.setdefault("application_name", "headwater")
        uri = urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), ""))
        return cls(name, uri, f"{host}:{port}/{database}", password)

    @property
    def label(self) -> str:
        return f"connection {self.name!r} ({self.where})"

    def scrub(self, text: str) -> str:
        """``text`` without the password (and without URLs' passwords)."""
        return redact_text(text, also=[self.password])


# libpq messages of a failed connection that retrying will not fix
_PERMANENT_CONNECT = (
    "password authentication failed",
    "authentication failed",
    "no pg_hba.conf entry",
    "does not exist",  # role or database
    "no password supplied",
    "permission denied",
    "invalid ",  # invalid connection option / URI
    "SSL is not enabled",
    "server does not support SSL",
    "certificate",  # verify failed, no root certificate file, a name that does not match
)
# SQLSTATE classes/codes that mean the session is gone or the server cannot serve yet
_TRANSIENT_STATES = ("08", "57P01", "57P02", "57P03", "53300", "53400")
_LOST = (
    "server closed the connection",
    "terminating connection",
    "connection refused",
    "could not connect",
    "could not translate host name",
    "timeout expired",
    "connection timed out",
    "no connection to the server",
    "connection reset",
    "broken pipe",
    "could not receive data",
    "could not send data",
    "ssl syscall",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "network is unreachable",
    "no route to host",
    "name or service not known",
    "temporary failure in name resolution",
    "pqgetcopydata() failed",
    "failed to begin transaction",
)
_SQLSTATE = re.compile(r"SQLSTATE: ([0-9A-Z]{5})")
_PREFIX = re.compile(r"^(?:[A-Z_]+: )?(?:\[libpq\] )?")


def sqlstate(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None)
    if isinstance(state, str) and state:
        return state
    found = _SQLSTATE.search(str(exc))
    return found.group(1) if found else None


def server_message(exc: BaseException) -> str:
    """The server's (or libpq's) message, on one line, without the driver's decorations."""
    text = str(exc)
    text = text.split("\nQuery was:", 1)[0]
    text = _PREFIX.sub("", text.strip())
    for noise in ("Failed to connect: ", "Failed to prepare query: ", "Failed to execute query: "):
        text = text.replace(noise, "")
    text = text.replace("could not begin COPY: ", "")
    text = re.sub(r"Execution error \[[A-Z_]+\]: ", "", text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    keep = [line for line in lines if not line.startswith(("LINE ", "^", "HINT:", "QUERY:"))]
    message = " ".join(keep or lines)
    message = re.sub(r"\b(?:ERROR|FATAL):\s+", "", message)
    message = re.sub(r"\s*SQLSTATE: [0-9A-Z]{5}", "", message)
    return re.sub(r"\s+", " ", message).strip().rstrip(".")


def is_lost(exc: BaseException) -> bool:
    """Whether ``exc`` means the connection failed or went away (worth retrying)."""
    state = sqlstate(exc)
    if state is not None:
        return state.startswith(_TRANSIENT_STATES[0]) or state in _TRANSIENT_STATES[1:]
    text = str(exc).lower()
    return any(marker in text for marker in _LOST)


def connect_error(address: Address, exc: BaseException) -> ConnectionError_:
    message = address.scrub(server_message(exc))
    lowered = message.lower()
    transient = not any(marker.lower() in lowered for marker in _PERMANENT_CONNECT)
    kind = LostConnection if transient else ConnectionError_
    return kind(f"{address.label}: cannot connect: {message}")


def read_error(
    address: Address, what: str, exc: BaseException, plans: Sequence[ColumnPlan] = ()
) -> HeadwaterError:
    """An error raised while reading ``what`` (``table 'x'`` or ``query``)."""
    if isinstance(exc, HeadwaterError):
        if what in exc.message or exc.message.startswith(address.label):
            return exc
        kind = type(exc)
        return kind(f"{address.label} {what}: {address.scrub(exc.message)}")
    message = address.scrub(server_message(exc))
    multidim = multidimensional_column(str(exc))
    if multidim is not None:
        column, dims = multidim
        return SourceError(
            f"{address.label} {what}: column {column!r} holds a {dims}-dimensional array; "
            "only one-dimensional arrays load as lists (select it ::text in a query)"
        )
    if is_lost(exc):
        return LostConnection(f"{address.label} {what}: connection lost: {message}")
    if "cannot convert NaN to" in message:
        numeric = [p.name for p in plans if p.pg_type.startswith("numeric")]
        message = (
            f"a NaN in numeric column {' or '.join(repr(n) for n in numeric) or '?'}: "
            "DECIMAL has no NaN (cast the column to float8 or text in a query)"
        )
    return SourceError(f"{address.label} {what}: {message}")
