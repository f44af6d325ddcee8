"""The warehouse can checkpoint while a run's cursors are idle: a question a step asked
leaves no transaction open behind it (issue 18: the run's memory with scale)."""

from __future__ import annotations

import threading
from pathlib import Path

from headwater.engines.duckdb.engine import DuckDBEngine


def _on_a_thread_of_its_own(engine: DuckDBEngine, sql: str) -> None:
    """``sql`` on a new thread's cursor, as a run's worker runs a step; errors re-raised."""
    failed: list[BaseException] = []

    def work() -> None:
        try:
            engine.execute(sql)
        except BaseException as exc:  # handed to the test's thread
            failed.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    if failed:
        raise failed[0]


def test_asking_whether_a_table_exists_does_not_stop_checkpoints(tmp_path: Path) -> None:
    # A run asks on its main thread whether each checked table exists before any step.
    # DuckDB writes committed rows to the file (and frees them) only at a CHECKPOINT,
    # which cannot run while another cursor holds a transaction open: when exists()
    # left its result half-read, none ran for the whole run, and the demo's every loaded
    # row stayed in memory (117 MB at scale 5, one thread; the WAL 50 MB).
    engine = DuckDBEngine(tmp_path / "warehouse.duckdb")
    try:
        engine.ensure_schemas({"raw"})
        engine.execute("create table raw.orders as select 1 as id")
        assert engine.exists("raw", "orders")
        _on_a_thread_of_its_own(
            engine, "create table raw.items as select range as id from range(200000)"
        )
        # before: "Cannot CHECKPOINT: there are other write transactions active"
        _on_a_thread_of_its_own(engine, "checkpoint")
    finally:
        engine.close()
