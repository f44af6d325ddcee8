"""Export files written from PostgreSQL into an S3 bucket, each object whole or not at all.

PostgreSQL cannot write to a bucket, so :mod:`.files_out` streams the rows here and each
file goes up as one S3 multipart upload: the bytes are sent in parts of
:data:`PART_BYTES` as they are written (memory holds one part, whatever the file's size),
and the object appears under its key only when :meth:`S3Object.commit` completes the
upload. A failed export aborts it; a killed one leaves an unfinished upload, which no
listing or read shows (the bucket's lifecycle rule for incomplete uploads removes its
parts), never a partial object under the final key. An object smaller than one part is
one PUT at commit.

The bucket's credentials are the project's ``s3://`` connection (the same one DuckDB's
httpfs is given, :mod:`headwater.engines.duckdb.object_store`): its client, and its
``problem()`` that turns a failure into one line naming the bucket, key and endpoint,
never the secret.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from headwater.engines.duckdb.object_store import S3Credentials

PART_BYTES = 8 * 1024 * 1024  # S3's smallest part is 5 MiB (the last excepted)


class BucketAccess(S3Credentials, Protocol):
    """What PostgreSQL's exports (the client) and file sources (the credentials, for the
    load's own DuckDB, :mod:`.files`) need of an ``s3://`` connection
    (``sources.storage.S3Access``)."""

    def client(self) -> Any: ...
    def problem(self, exc: BaseException, what: str) -> Exception: ...


class S3Object:
    """A binary file object writing ``s3://bucket/key`` (``write`` and ``tell`` for
    pyarrow's writers); nothing is visible under the key before :meth:`commit`."""

    def __init__(self, access: BucketAccess, bucket: str, key: str) -> None:
        self._access, self._bucket, self._key = access, bucket, key
        self._client = access.client()
        self._buffer = bytearray()
        self._written = 0
        self._upload: str | None = None
        self._parts: list[dict[str, Any]] = []
        self.closed = False

    @property
    def url(self) -> str:
        return f"s3://{self._bucket}/{self._key}"

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._buffer += data
        self._written += len(data)
        if len(self._buffer) >= PART_BYTES:
            self._send_part()
        return len(data)

    def tell(self) -> int:
        return self._written

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        """Parts go up as they fill (a part below 5 MiB is refused but for the last)."""

    def close(self) -> None:
        """pyarrow's writers close their sink when done: the object waits for commit."""
        self.closed = True

    def commit(self) -> None:
        """Publish the object under its key (complete the upload, or one PUT)."""
        try:
            if self._upload is None:
                self._client.put_object(
                    Bucket=self._bucket, Key=self._key, Body=bytes(self._buffer)
                )
                return
            if self._buffer:
                self._send_part()
            self._client.complete_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload,
                MultipartUpload={"Parts": self._parts},
            )  # fmt: skip
        except Exception as exc:
            raise self._access.problem(exc, f"writing {self.url}") from None
        finally:
            self._buffer = bytearray()

    def abort(self) -> None:
        """Drop what was sent: no object under the key, no parts kept."""
        self._buffer = bytearray()
        if self._upload is not None:
            try:
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=self._key, UploadId=self._upload
                )
            except Exception as exc:
                raise self._access.problem(exc, f"aborting the upload of {self.url}") from None

    def _send_part(self) -> None:
        try:
            if self._upload is None:
                made = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)
                self._upload = str(made["UploadId"])
            number = len(self._parts) + 1
            sent = self._client.upload_part(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload,
                PartNumber=number, Body=bytes(self._buffer),
            )  # fmt: skip
        except Exception as exc:
            raise self._access.problem(exc, f"writing {self.url}") from None
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})
        self._buffer = bytearray()


@contextmanager
def s3_object(access: BucketAccess, url: str) -> Iterator[S3Object]:
    """An :class:`S3Object` for ``url`` (``s3://bucket/key``): committed when the block
    ends, aborted when it raises (the block's error is the one raised)."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    target = S3Object(access, bucket, key)
    try:
        yield target
    except BaseException:
        with contextlib.suppress(Exception):  # the export's own error is the one to show
            target.abort()
        raise
    target.commit()
