"""Where files live: the project's file system or an S3 bucket, behind one listing.

A file source's ``files`` glob is local (relative to the project, or absolute) or an
``s3://bucket/prefix/*.csv`` URL read through an S3 connection (``[connections.x]`` with
``url = "s3://KEY_ID:SECRET@HOST:PORT?region=...&ssl=false"``, see :class:`S3Access`).
:func:`listing` answers the same thing for both: the objects the glob matches, each with
the signature the incremental state compares (local: size and modification time; S3: size
and ETag, the last-modified time kept beside them), so that ``files.py`` plans local and
S3 scans with one piece of code; the engine then reads them itself (DuckDB's httpfs for
``s3://``).

Glob rules are the same on both: ``*`` and ``?`` stay within one folder (one ``/``-separated
part of a key), ``**`` crosses any number of them.

Secrets never reach a message: errors name the bucket, the key or prefix and the endpoint.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from headwater.config.secrets import interpolate_url, redact_text
from headwater.config.settings import ConnectionSettings
from headwater.errors import ConfigError, ConnectionError_, SourceError

S3 = "s3://"


@dataclass(frozen=True)
class StoredFile:
    """One file the glob matches. ``name``: how the state and ``_hw_file`` name it (local:
    relative to the project root when under it; S3: the ``s3://bucket/key`` URL);
    ``url``: what the engine reads; ``signature``: what a change of the file changes."""

    name: str
    url: str
    size: int
    signature: list[Any]


@dataclass(frozen=True)
class S3Access:
    """An S3 connection: ``s3://KEY_ID:SECRET@HOST[:PORT]?region=R&ssl=true|false&url_style=
    path|vhost&session_token=T``. No host: AWS itself (``s3.amazonaws.com``, virtual-host
    style); any other host (MinIO, moto, a cloud's S3 API) is addressed path style unless
    ``url_style`` says otherwise. ``ssl`` defaults to true.

    >>> a = S3Access.parse("s3://AK:s%2Fk@127.0.0.1:9000?region=eu-west-1&ssl=false", "lake")
    >>> a.endpoint, a.secret, a.use_ssl, a.url_style, a.endpoint_url
    ('127.0.0.1:9000', 's/k', False, 'path', 'http://127.0.0.1:9000')
    >>> S3Access.parse("s3://AK:SK@", "aws").endpoint_url
    'https://s3.amazonaws.com'
    """

    connection: str
    key_id: str
    secret: str
    endpoint: str = "s3.amazonaws.com"
    region: str = "us-east-1"
    use_ssl: bool = True
    url_style: str = "vhost"
    session_token: str = ""

    @classmethod
    def parse(cls, url: str, connection: str) -> S3Access:
        """Read an interpolated ``s3://`` connection URL (values percent-encoded)."""
        parts = urlsplit(url)
        if parts.scheme != "s3":
            raise ConfigError(f"connection {connection!r} is not an s3:// connection")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        host = parts.hostname or ""
        endpoint = f"{host}:{parts.port}" if parts.port else host or "s3.amazonaws.com"
        style = query.get("url_style") or ("vhost" if "amazonaws.com" in endpoint else "path")
        if style not in ("path", "vhost"):
            raise ConfigError(f"connection {connection!r}: url_style is path or vhost")
        return cls(
            connection=connection,
            key_id=unquote(parts.username or ""),
            secret=unquote(parts.password or ""),
            endpoint=endpoint,
            region=query.get("region", "us-east-1"),
            use_ssl=query.get("ssl", "true").lower() not in ("false", "0", "no"),
            url_style=style,
            session_token=query.get("session_token", ""),
        )

    @property
    def endpoint_url(self) -> str:
        return ("https://" if self.use_ssl else "http://") + self.endpoint

    def client(self) -> Any:
        """A boto3 S3 client for this connection (boto3: ``pip install 'headwater[s3]'``)."""
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise SourceError(
                f"connection {self.connection!r}: s3:// needs boto3: pip install 'headwater[s3]'"
            ) from None
        style = "path" if self.url_style == "path" else "virtual"
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.key_id or None,
            aws_secret_access_key=self.secret or None,
            aws_session_token=self.session_token or None,
            config=Config(s3={"addressing_style": style}, retries={"max_attempts": 3}),
        )

    def problem(self, exc: BaseException, what: str) -> ConnectionError_:
        """One line for a failed call on ``what`` (a bucket/key), naming the endpoint and
        never the secret."""
        reason = redact_text(str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                             also=[self.secret, self.session_token])  # fmt: skip
        return ConnectionError_(
            f"{what} (connection {self.connection!r}, endpoint {self.endpoint_url}): {reason}"
        )


def split_s3(url: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``.

    >>> split_s3("s3://lake/landing/day=1/a.csv")
    ('lake', 'landing/day=1/a.csv')
    """
    bucket, _, key = url.removeprefix(S3).partition("/")
    return bucket, key


def fixed_prefix(pattern: str) -> str:
    """The part of a key pattern before its first glob character, cut at a ``/``: the
    prefix to list.

    >>> fixed_prefix("landing/orders/day=*/*.csv"), fixed_prefix("*.csv")
    ('landing/orders/', '')
    """
    head = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
    return head[: head.rfind("/") + 1]


def key_matcher(pattern: str) -> re.Pattern[str]:
    """A regex for a key glob: ``*``/``?`` within one part, ``**/`` any number of parts.

    >>> m = key_matcher("a/**/*.csv")
    >>> [bool(m.fullmatch(k)) for k in ("a/x.csv", "a/b/c/x.csv", "a/b/x.json")]
    [True, True, False]
    >>> bool(key_matcher("a/*.csv").fullmatch("a/b/x.csv"))
    False
    """
    out = []
    for part in re.split(r"(\*\*/|\*\*)", pattern):
        if part == "**/":
            out.append("(?:[^/]+/)*")
        elif part == "**":
            out.append(".*")
        else:
            out.append(_within_folder(part))
    return re.compile("".join(out))


def _within_folder(glob_text: str) -> str:
    """A regex for a glob without ``**``: ``*`` and ``?`` never match ``/``."""
    out = []
    for token in re.split(r"(\*|\?|\[[^\]]*\])", glob_text):
        if token == "*":
            out.append("[^/]*")
        elif token == "?":
            out.append("[^/]")
        elif token.startswith("[") and token.endswith("]") and len(token) > 2:
            body = token[1:-1]
            out.append("[^" + body[1:] + "]" if body[0] == "!" else "[" + body + "]")
        else:
            out.append(re.escape(token))
    return "".join(out)


def list_s3(pattern: str, access: S3Access) -> list[StoredFile]:
    """The objects ``pattern`` (``s3://bucket/glob``) matches, in key order."""
    bucket, key_glob = split_s3(pattern)
    prefix = fixed_prefix(key_glob)
    matcher = key_matcher(key_glob)
    client = access.client()
    found = []
    try:
        for page in _pages(client, bucket, prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith("/") or not matcher.fullmatch(key):
                    continue
                url = f"{S3}{bucket}/{key}"
                etag = str(obj.get("ETag", "")).strip('"')
                modified = obj["LastModified"].isoformat() if obj.get("LastModified") else ""
                found.append(StoredFile(url, url, int(obj["Size"]), [obj["Size"], etag, modified]))
    except Exception as exc:
        if isinstance(exc, SourceError):
            raise
        raise access.problem(exc, f"listing s3://{bucket}/{prefix}") from None
    return sorted(found, key=lambda f: f.name)


def _pages(client: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    paginator = client.get_paginator("list_objects_v2")
    yield from paginator.paginate(Bucket=bucket, Prefix=prefix)


def list_local(pattern: str, root: Path) -> list[StoredFile]:
    """The files ``pattern`` (relative to ``root``, or absolute) matches, by path."""
    absolute = pattern if Path(pattern).is_absolute() else str(root / pattern)
    found = []
    for path in sorted(glob.glob(absolute, recursive=True)):
        p = Path(path)
        if not p.is_file():
            continue
        st = p.stat()
        found.append(StoredFile(_rel(path, root), path, st.st_size, [st.st_size, st.st_mtime_ns]))
    return found


def listing(pattern: str, root: Path, access: S3Access | None) -> list[StoredFile]:
    """The files a source's glob matches, local or (``s3://``, with ``access``) in S3."""
    if pattern.startswith(S3):
        if access is None:
            raise SourceError(f"files {pattern!r}: s3:// needs connection = an s3:// connection")
        return list_s3(pattern, access)
    return list_local(pattern, root)


def changed(old: list[Any] | None, new: list[Any]) -> bool:
    """Whether a file's signature changed since it was loaded: local files by size and
    modification time, S3 objects by size and ETag (an object uploaded again with the same
    bytes is the same object; its new last-modified time alone does not reload it).

    >>> changed([3, "e1", "t1"], [3, "e1", "t2"]), changed([3, "e1", "t1"], [4, "e2", "t2"])
    (False, True)
    """
    if old is None:
        return True
    return list(old[:2]) != list(new[:2])


def _rel(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path


def access_for(
    url: str, connection: str | None, connections: dict[str, ConnectionSettings]
) -> S3Access | None:
    """The S3 access of a location: None for a local one; for ``s3://``, the named
    connection's (its ``${ENV}`` placeholders resolved now, at use)."""
    if not url.startswith(S3):
        return None
    if connection is None or connection not in connections:
        named = f"connection {connection!r} is not declared" if connection else "no connection"
        raise ConfigError(f"{url}: {named}; an s3:// location needs an s3:// connection")
    where = f"connections.{connection}.url"
    return S3Access.parse(interpolate_url(connections[connection].url, where=where), connection)


def open_bucket(engine: Any, url: str, access: S3Access) -> None:
    """Let ``engine`` read and write the bucket of ``url`` with ``access``'s credentials
    (``open_bucket`` of an engine with the ``object_store`` capability: DuckDB puts a
    secret scoped to the bucket in its httpfs extension, PostgreSQL's exports upload
    with this connection's client)."""
    engine.open_bucket(url, access)
