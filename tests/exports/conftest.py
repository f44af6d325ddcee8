"""A local S3 (moto's server on 127.0.0.1) for the export tests, one per session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from headwater.testing.servers.s3 import KEY_ID, SECRET, S3Server


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


@pytest.fixture
def bucket(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new bucket, and the credentials in HW_S3_KEY / HW_S3_SECRET."""
    monkeypatch.setenv("HW_S3_KEY", KEY_ID)
    monkeypatch.setenv("HW_S3_SECRET", SECRET)
    name = f"out-{uuid.uuid4().hex[:10]}"
    s3.client().create_bucket(Bucket=name)
    return name
