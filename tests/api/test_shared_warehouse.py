"""``api.shared_warehouse``: inside it every call uses the one engine a long-lived process
holds open (a server's), so reads answer while that engine writes, nothing closes it, and a
query still changes nothing."""

from __future__ import annotations

import threading

import pytest

from headwater import api
from headwater.engines import open_engine
from headwater.errors import EngineError

FILES = {
    "headwater.toml": "",
    "models/marts/numbers.sql": "-- headwater:\n--   materialized: table\nselect range as n from range(5)\n",
}


def test_calls_use_the_shared_engine_and_leave_it_open(project_dir) -> None:  # type: ignore[no-untyped-def]
    project = api.open_project(project_dir(FILES))
    project.state_dir.mkdir(parents=True, exist_ok=True)
    engine = open_engine("duckdb", project.warehouse_path)
    try:
        with pytest.raises(EngineError):  # without the seam: the file is held for writing
            api.query(project, "select 1")
        with api.shared_warehouse(project, engine):
            result = api.run(project)
            assert result.status == "success"
            # a reader on another thread answers while this engine stays open for writing
            answers: list[object] = []
            reader = threading.Thread(
                target=lambda: answers.append(
                    api.query(project, "select sum(n) from marts.numbers").rows
                )
            )
            reader.start()
            reader.join()
            assert answers == [[(10,)]]
            # a query changes nothing: only one SELECT is answered (a COMMIT would escape
            # the transaction that is rolled back), and DuckDB's parser tells the kind
            for sql in (
                "create table marts.stray as select 1 as x",
                "select 1; commit; drop table marts.numbers",
                "copy (select 1) to 'stray.csv'",
            ):
                with pytest.raises(EngineError, match="query refused"):
                    api.query(project, sql)
            assert api.query(project, "select count(*) from marts.numbers").rows == [(5,)]
            assert api.query(
                project, "select count(*) from duckdb_tables() where table_name = 'stray'"
            ).rows == [(0,)]
            assert [ld.asset for ld in api.loads(project)] == []
        # the run did not close the engine it was given
        assert engine.execute("select count(*) from marts.numbers").fetchone() == (5,)
    finally:
        engine.close()
    assert api.query(project, "select count(*) from marts.numbers").rows == [(5,)]
