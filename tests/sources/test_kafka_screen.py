"""A Kafka load with bad messages wraps the asset's quarantine screen to record them first
(sources/kafka/load.py): the wrapper still says which other tables the screen's
relationships checks read, so an engine screening outside the warehouse (Spark's scratch
DuckDB) shows them, as it does for any other source."""

from __future__ import annotations

from typing import Any

import duckdb

from headwater.engines.base import LoadRequest
from headwater.engines.screen import WithReads, reads_of
from headwater.project.checks import Check
from headwater.sources.kafka.load import _recording
from headwater.sources.kafka.records import BadMessage


def test_the_bad_messages_wrapper_keeps_what_the_screen_reads() -> None:
    seen: list[str] = []
    check = Check(type="relationships", name="sku_known", column="sku", to="raw.products")
    base = LoadRequest(
        schema="raw",
        table="sales",
        load_id=7,
        write="append",
        screen=WithReads(lambda cur, staged: seen.append(staged), [check]),
    )
    bad = [BadMessage("sales", 0, 41, "not JSON", "{oops")]
    wrapped: Any = _recording(bad, base)
    assert reads_of(wrapped) == (check,)
    cur = duckdb.connect()
    cur.execute("create schema _headwater")
    cur.execute(
        "create table _headwater.rejected_rows (load_id bigint, asset text, source text, "
        "line bigint, col text, error text, raw text)"
    )
    wrapped(cur, "staged")
    assert seen == ["staged"]  # the asset's own screen still runs, after the recording
    assert cur.execute("select line, error from _headwater.rejected_rows").fetchall() == [
        (41, "not JSON")
    ]
