"""A retry queued on a server (``POST /api/runs/{id}/retry``: ``RunRequest.retry_of``) is
stored with its queued run so that a server taking it from the shared metastore, or one
restarted before it ran, reruns the parent's failures rather than the whole pipeline."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from headwater.metastore.records import RunRecord
from headwater.server.runs import RunRequest
from headwater.server.shared_queue import request_of


def test_a_queued_retry_is_read_back_as_a_retry() -> None:
    asked = RunRequest(pipeline="daily", trigger="retry", retry_of="20261207T040648-5f6751")
    record = RunRecord(
        run_id="20261207T040706-d15933", project="p", pipeline="daily", selection=None,
        trigger="retry", parent_run_id="20261207T040648-5f6751", status="queued",
        started_at=datetime.now(UTC), finished_at=None, pid=None, hostname=None,
        params=asked.recorded(),
    )  # fmt: skip
    again = request_of(record)
    assert (again.retry_of, again.pipeline, again.trigger, again.select) == (
        "20261207T040648-5f6751", "daily", "retry", [],
    )  # fmt: skip
    plain = request_of(dataclasses.replace(record, params=RunRequest().recorded()))
    assert plain.retry_of is None
