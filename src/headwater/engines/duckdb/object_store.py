"""DuckDB reading and writing ``s3://``: the httpfs extension and one secret per bucket.

The extension's file ships in the PyPI wheel ``duckdb-extension-httpfs`` (as
postgres_scanner's does, :mod:`.database_scan`), so it loads offline. The credentials go
into a temporary DuckDB secret scoped to the bucket (``CREATE OR REPLACE SECRET ... SCOPE
's3://bucket'``): DuckDB keeps secrets per database instance, so every cursor of the
warehouse reads the bucket with them, and two connections' buckets never mix. The secret
is never part of a statement that can appear in an error: :func:`use_s3` raises its own
message naming the bucket and endpoint.
"""

from __future__ import annotations

import hashlib
import threading
from importlib import import_module
from typing import Protocol

import duckdb

from headwater.engines.duckdb.database_scan import wheel_extension
from headwater.engines.duckdb.sql import string
from headwater.errors import EngineError

_lock = threading.Lock()
WHEEL = "duckdb_extension_httpfs"


def load_httpfs(cur: duckdb.DuckDBPyConnection) -> None:
    """LOAD httpfs from its wheel into this database instance, once."""
    loaded = "select count(*) from duckdb_extensions() where extension_name = 'httpfs' and loaded"
    with _lock:
        row = cur.execute(loaded).fetchone()
        if row and row[0]:
            return
        try:
            module = import_module(WHEEL)
        except ImportError:
            raise EngineError(
                "s3:// needs DuckDB's httpfs extension: pip install 'headwater[s3]'"
            ) from None
        found = wheel_extension(module, "httpfs")
        if found is None:
            raise EngineError(f"{WHEEL} holds no httpfs for DuckDB {duckdb.__version__}")
        cur.execute(f"load '{found.as_posix()}'")


class S3Credentials(Protocol):
    """What DuckDB is given of an ``s3://`` connection (``sources.storage.S3Access``)."""

    @property
    def key_id(self) -> str: ...
    @property
    def secret(self) -> str: ...
    @property
    def endpoint(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def use_ssl(self) -> bool: ...
    @property
    def url_style(self) -> str: ...
    @property
    def session_token(self) -> str: ...


def use_bucket(cur: duckdb.DuckDBPyConnection, url: str, access: S3Credentials) -> None:
    """:func:`use_s3` for the bucket of ``url`` (``s3://bucket/...``) with ``access``."""
    use_s3(
        cur, url.removeprefix("s3://").partition("/")[0],
        key_id=access.key_id, secret=access.secret, endpoint=access.endpoint,
        region=access.region, use_ssl=access.use_ssl, url_style=access.url_style,
        session_token=access.session_token,
    )  # fmt: skip


def use_s3(
    cur: duckdb.DuckDBPyConnection,
    bucket: str,
    *,
    key_id: str,
    secret: str,
    endpoint: str,
    region: str,
    use_ssl: bool,
    url_style: str,
    session_token: str = "",
) -> None:
    """Make ``s3://bucket/...`` readable and writable on this database instance with
    these credentials (the secret replaces an earlier one for the same bucket)."""
    load_httpfs(cur)
    name = "hw_s3_" + hashlib.sha1(bucket.encode()).hexdigest()[:16]
    options = {
        "TYPE": "s3",
        "KEY_ID": string(key_id),
        "SECRET": string(secret),
        "REGION": string(region),
        "ENDPOINT": string(endpoint),
        "URL_STYLE": string(url_style),
        "USE_SSL": "true" if use_ssl else "false",
        "SCOPE": string(f"s3://{bucket}"),
    }
    if session_token:
        options["SESSION_TOKEN"] = string(session_token)
    body = ", ".join(f"{k} {v}" for k, v in options.items())
    try:
        with _lock:  # two threads replacing one secret at once conflict in DuckDB's catalog
            cur.execute(f"create or replace temporary secret {name} ({body})")
    except duckdb.Error:
        # DuckDB's message may quote the statement, secret included: none of it is shown
        raise EngineError(
            f"s3://{bucket}: DuckDB refused the S3 settings of endpoint {endpoint}"
        ) from None
