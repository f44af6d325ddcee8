"""TLS to MySQL/MariaDB: the URL's ``ssl-mode`` and ``ssl-ca``, as MySQL's own clients read them.

Both sessions of a read honour the same settings: the metadata session (PyMySQL) and the
extract's (connectorx, which takes the same two URL parameters).

======================  ==============================================================
``ssl-mode``            meaning
======================  ==============================================================
``disabled``            never TLS
``preferred``           TLS if the server offers it (MySQL's clients' default)
``required``            TLS or no connection; the certificate is not checked
``verify_ca``           TLS, and the certificate must chain to ``ssl-ca`` (default: the
                        system's CAs)
``verify_identity``     ``verify_ca``, and the certificate must name the host
======================  ==============================================================

Without ``ssl-mode`` both sessions use ``preferred``, like MySQL's own clients (and with
only ``ssl-ca``, ``verify_ca``). A certificate that fails verification is a permanent error:
a retry cannot fix it.

``ssl-cert`` and ``ssl-key`` (together) present a client certificate, for a server whose
account requires one (``REQUIRE X509``); they mean TLS (``preferred`` becomes ``required``).
connectorx cannot present one, so such a read's rows come through PyMySQL as well
(:mod:`.pymysql_extract`: correct, and slower).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

from headwater.errors import ConnectionError_

MODES = ("disabled", "preferred", "required", "verify_ca", "verify_identity")


@dataclass(frozen=True)
class Tls:
    """The TLS settings of one connection."""

    mode: str = "preferred"
    ca: str | None = None
    cert: str | None = None  # a client certificate, with its private key
    key: str | None = None

    @classmethod
    def from_params(cls, params: dict[str, str], where: str) -> Tls:
        """Read ``ssl-mode``, ``ssl-ca``, ``ssl-cert`` and ``ssl-key``; a setting that makes
        no sense is an error naming ``where``.

        >>> Tls.from_params({"ssl-mode": "VERIFY_IDENTITY", "ssl-ca": "/ca.pem"}, "c")
        Tls(mode='verify_identity', ca='/ca.pem', cert=None, key=None)
        >>> Tls.from_params({"ssl-ca": "/ca.pem"}, "c").mode  # a CA alone means verify it
        'verify_ca'
        >>> Tls.from_params({"ssl-cert": "/c.pem", "ssl-key": "/c.key"}, "c").mode
        'required'
        """
        raw = params.get("ssl-mode")
        ca = params.get("ssl-ca") or None
        cert, key = params.get("ssl-cert") or None, params.get("ssl-key") or None
        if bool(cert) != bool(key):
            raise ConnectionError_(
                f"{where}: ssl-cert and ssl-key go together (the client certificate and "
                "its private key)"
            )
        if raw is None and cert and not ca:
            raw = "required"  # a client certificate means TLS
        mode = raw.lower() if raw is not None else ("verify_ca" if ca else "preferred")
        if mode not in MODES:
            raise ConnectionError_(
                f"{where}: unknown ssl-mode {raw!r} in the URL (one of: {', '.join(MODES)})"
            )
        if ca and mode in ("disabled", "preferred", "required"):
            raise ConnectionError_(
                f"{where}: ssl-ca is given but ssl-mode={mode} does not verify the "
                "certificate (use verify_ca or verify_identity)"
            )
        if cert and mode in ("disabled", "preferred"):
            raise ConnectionError_(
                f"{where}: ssl-cert is given but ssl-mode={mode} (a client certificate needs "
                "TLS: use required, verify_ca or verify_identity)"
            )
        return cls(mode, ca, cert, key)

    def pymysql_options(self) -> dict[str, Any]:
        """Keyword arguments of ``pymysql.connect``.

        >>> Tls("verify_identity", None).pymysql_options()["ssl"].check_hostname
        True
        >>> Tls("disabled").pymysql_options()
        {'ssl_disabled': True}
        """
        if self.mode == "disabled":
            return {"ssl_disabled": True}
        if self.mode == "preferred":
            return {}  # PyMySQL's default: TLS if offered, the certificate not checked
        # An SSLContext of our own (PyMySQL then requires TLS): its option dict turns the
        # host check off when no CA file is given, and verify_identity must check it.
        context = ssl.create_default_context(cafile=self.ca)
        if self.mode == "required":
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context.check_hostname = self.mode == "verify_identity"
            context.verify_mode = ssl.CERT_REQUIRED
        if self.cert:
            context.load_cert_chain(self.cert, self.key)
        return {"ssl": context}

    def url_params(self, encrypted: bool) -> str:
        """The query string for connectorx's URL; ``encrypted``: whether the metadata
        session (same server, same settings) got TLS.

        connectorx 0.4's ``preferred`` refuses a server without TLS, so ``preferred`` goes to
        it as ``required`` when the server offered TLS, and as nothing when it did not.

        >>> Tls("verify_ca", "/etc/my ca.pem").url_params(True)
        '?ssl-mode=verify_ca&ssl-ca=%2Fetc%2Fmy%20ca.pem'
        >>> Tls().url_params(False), Tls().url_params(True)
        ('', '?ssl-mode=required')
        """
        from urllib.parse import quote

        if self.mode == "preferred":
            return "?ssl-mode=required" if encrypted else ""
        query = f"?ssl-mode={self.mode}"
        if self.ca:
            query += f"&ssl-ca={quote(self.ca, safe='')}"
        return query

    def no_tls_error(self, where: str) -> ConnectionError_:
        """The error for a server that offers no TLS when this mode requires it."""
        return ConnectionError_(f"{where}: ssl-mode={self.mode} but the server does not offer TLS")


def is_certificate_error(text: str) -> bool:
    """Whether a connection error is a failed certificate check (permanent)."""
    lowered = text.lower()
    return "certificate verify failed" in lowered or "certificate_verify_failed" in lowered
