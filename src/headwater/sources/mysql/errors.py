"""MySQL/MariaDB errors as one line naming the connection, never its password.

Two drivers fail in two ways: PyMySQL (the catalog session) raises errors carrying the
server's code (:meth:`Endpoint.driver_error`); connectorx (the extract, in a child process)
reports text, with the server's code inside when the server said it
(:meth:`Endpoint.stream_error`). Either way a lost or refused connection is transient (the
runtime retries the step with backoff) and anything else is not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from headwater.config.secrets import redact_text
from headwater.errors import ConnectionError_, HeadwaterError, SourceError
from headwater.sources.mysql.tls import is_certificate_error

# connectorx errors that mean the connection, not the query, failed
_LOST = re.compile(
    r"io error|broken pipe|connection (reset|refused|aborted|closed)|could not connect|"
    r"lost connection|gone away|timed out|bytes remaining on stream|unexpected eof|driver ?error",
    re.I,
)
# server error codes: lost connection, cannot connect, too many connections, shutdown,
# query killed (by an administrator or a restart), deadlock / lock wait timeout
TRANSIENT_CODES = frozenset(
    {1040, 1053, 1205, 1213, 1317, 1927, 2002, 2003, 2006, 2013, 2055, 4031}
)
_SERVER_ERROR = re.compile(r"ERROR (\d+) \(\w+\): (.*?)\s*\}")


@dataclass(frozen=True)
class Endpoint:
    """What an error names: ``where`` is ``connection 'name' (address/database)``."""

    where: str
    address: str  # host:port, or "unix socket /path"
    user: str
    database: str
    password: str = field(repr=False)
    tls_disabled: bool = False

    def scrub(self, text: str) -> str:
        """``text`` on one line, without the password or URL credentials (a password under 4
        characters is left: masking it would mangle the message more than it hides).

        >>> Endpoint("c", "h:1", "app", "shop", "Qx7-zr!2").scrub("denied for Qx7-zr!2\\n  x")
        'denied for *** x'
        """
        password = [self.password] if len(self.password) >= 4 else []
        return redact_text(" ".join(text.split()), also=password)

    def driver_error(
        self, exc: Exception, *, table: str | None = None, connecting: bool = False
    ) -> HeadwaterError:
        """The error for a PyMySQL exception (``args``: the server's code, its message)."""
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        text = self.scrub(str(exc.args[1] if len(exc.args) > 1 else exc))
        where, what = self.where, f" table {table!r}" if table else ""
        if code == 1045:
            hint = " or the server requires TLS" if self.tls_disabled else ""
            return ConnectionError_(
                f"{where}: access denied for user {self.user!r} (wrong user or password{hint})"
            )
        if code == 1044:
            return ConnectionError_(
                f"{where}: user {self.user!r} may not use database {self.database!r}"
            )
        if code == 1049:
            return ConnectionError_(f"{where}: database {self.database!r} does not exist")
        if is_certificate_error(text):  # a retry cannot fix it
            return ConnectionError_(f"{where}: TLS: {text}")
        if code in (2002, 2003) or (connecting and code in TRANSIENT_CODES):
            return ConnectionError_(
                f"{where}: cannot connect to {self.address} ({text})", transient=True
            )
        if code in TRANSIENT_CODES:
            return ConnectionError_(f"{where}: connection lost ({text})", transient=True)
        if code == 1146:
            return SourceError(f"{where}{what}: table does not exist ({text})")
        if code in (1142, 1143):
            return SourceError(
                f"{where}{what}: permission denied: user {self.user!r} may not read it "
                f"(grant SELECT) ({text})"
            )
        return SourceError(f"{where}{what}: {text}")

    def stream_error(
        self, message: str, *, at: str, offset: int, alive: Callable[[], bool]
    ) -> HeadwaterError:
        """The error for an extract that failed after ``offset`` rows with connectorx's
        ``message``; ``at`` names the table, ``alive`` asks whether the server still answers
        (a failure while it does not is transient whatever the text says).

        >>> e = Endpoint("connection 'my' (db:3306/shop)", "db:3306", "app", "shop", "pw")
        >>> cx = "MySQLError(Server(ServerError { ERROR 1317 (70100): Query execution was interrupted })"
        >>> error = e.stream_error(cx, at="t", offset=5, alive=lambda: True)
        >>> error.transient, str(error)
        (True, 't: extract interrupted after 5 rows (Query execution was interrupted (error 1317))')
        >>> str(e.stream_error("Source(bad value)", at="t", offset=0, alive=lambda: True))
        't: after 0 rows: bad value'
        """
        text = self.scrub(message)
        server = _SERVER_ERROR.search(text)
        code = int(server.group(1)) if server else 0
        if server:  # the server's own words: "Query execution was interrupted (error 1317)"
            text = f"{server.group(2).strip()} (error {code})"
        else:  # the driver's: strip connectorx's wrappers
            text = re.sub(r"^cx writer failed: ", "", text)
            text = re.sub(r"^(Source\(|MySQLError\()+(.*?)\)*$", r"\2", text)
        if code in TRANSIENT_CODES or (not code and _LOST.search(text)) or not alive():
            return ConnectionError_(
                f"{at}: extract interrupted after {offset} rows ({text})", transient=True
            )
        return SourceError(f"{at}: after {offset} rows: {text}")
