"""The server's query guard (``engines/duckdb/guard.py``) parses each statement on one
in-memory DuckDB kept for the process: a new database per statement cost ~15 ms of CPU on
every warehouse read of the web UI (the overview, an asset's page), and it still refuses
what reads outside the warehouse, from several threads at once."""

from __future__ import annotations

import threading

import duckdb
import pytest

from headwater.engines.duckdb import guard
from headwater.errors import EngineError


def test_statements_are_parsed_on_one_database(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []
    real = duckdb.connect

    def counting(*args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
        made.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(guard, "_PARSER", [])
    monkeypatch.setattr(guard.duckdb, "connect", counting)
    refused: list[str] = []

    def ask() -> None:
        for _ in range(20):
            guard.require_warehouse_reads("select * from marts.sales, range(3)")
            try:
                guard.require_warehouse_reads("select * from read_text('headwater.toml')")
            except EngineError as exc:
                refused.append(str(exc))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1
    assert len(refused) == 80
    assert set(refused) == {
        "query refused: read_text() reads outside the warehouse; "
        "only the warehouse's tables are answered here"
    }
