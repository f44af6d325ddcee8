"""Where an export's files go: a local folder or an ``s3://bucket/prefix``, behind one
small interface (the manifest read and replaced atomically, write folders listed and
removed). Locations inside it are relative (``w1765.../data_0.parquet``).

Atomic replacement: locally a temporary file renamed over the manifest (``os.replace``);
in S3 one PUT of the whole object (S3 never shows a half-written object).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headwater.sources.storage import S3Access, split_s3


@dataclass(frozen=True)
class Destination:
    """``base``: an absolute folder path or an ``s3://bucket/prefix`` URL (no trailing /)."""

    base: str
    access: S3Access | None = None

    @property
    def is_s3(self) -> bool:
        return self.access is not None

    def url(self, rel: str) -> str:
        return f"{self.base}/{rel}"

    def relative(self, location: str) -> str:
        """A file's location as DuckDB wrote it -> its name inside the destination."""
        return location.removeprefix(self.base + "/")

    def read_text(self, rel: str) -> str | None:
        """The text of ``rel`` (None: there is none)."""
        if self.access is None:
            path = Path(self.url(rel))
            return path.read_text(encoding="utf-8") if path.exists() else None
        bucket, key = split_s3(self.url(rel))
        client = self.access.client()
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            return None
        except Exception as exc:
            raise self.access.problem(exc, f"reading s3://{bucket}/{key}") from None
        return str(body.decode("utf-8"))

    def write_atomic(self, rel: str, text: str) -> None:
        """Replace ``rel`` with ``text`` whole: a reader sees the old text or the new."""
        if self.access is None:
            path = Path(self.url(rel))
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
            return
        bucket, key = split_s3(self.url(rel))
        try:
            self.access.client().put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"))
        except Exception as exc:
            raise self.access.problem(exc, f"writing s3://{bucket}/{key}") from None

    def folders(self) -> list[str]:
        """The names of the folders directly inside (write folders among them)."""
        if self.access is None:
            base = Path(self.base)
            return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
        bucket, prefix = split_s3(self.base + "/")
        found: list[str] = []
        for page in self._pages(bucket, prefix, Delimiter="/"):
            found += [
                p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", [])
            ]
        return sorted(found)

    def remove_folder(self, name: str) -> None:
        """Delete folder ``name`` and everything in it."""
        if self.access is None:
            shutil.rmtree(self.url(name), ignore_errors=True)
            return
        bucket, prefix = split_s3(self.url(name) + "/")
        client = self.access.client()
        for page in self._pages(bucket, prefix):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})

    def _pages(self, bucket: str, prefix: str, **extra: Any) -> list[dict[str, Any]]:
        assert self.access is not None
        try:
            paginator = self.access.client().get_paginator("list_objects_v2")
            return list(paginator.paginate(Bucket=bucket, Prefix=prefix, **extra))
        except Exception as exc:
            raise self.access.problem(exc, f"listing s3://{bucket}/{prefix}") from None
