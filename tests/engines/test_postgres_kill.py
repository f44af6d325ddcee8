"""A load killed mid-COPY (SIGKILL: no cleanup runs) leaves the previous table, its state
and the loads' record as they were: the server rolls back the dead connection's
transaction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa

from headwater.engines import LoadRequest, open_engine

_LOADER = textwrap.dedent(
    """
    import sys, pyarrow as pa
    from headwater.engines import LoadRequest, open_engine
    engine = open_engine("postgres", sys.argv[1])

    def batches():
        for i in range(10_000):  # far more than the test lets it write
            yield pa.record_batch({"id": pa.array(range(i * 1000, i * 1000 + 1000))})

    reader = pa.RecordBatchReader.from_batches(pa.schema({"id": pa.int64()}), batches())
    engine.load("t", LoadRequest(schema="raw", table="t", load_id=engine.new_load_id(),
                                 write="replace", batches=reader, state={"cursor": "new"}))
    """
)


def test_sigkill_mid_copy_keeps_the_previous_table(postgres_url: str) -> None:
    engine = open_engine("postgres", postgres_url)
    engine.ensure_schemas({"raw"})
    old = pa.table({"id": list(range(100))})
    engine.load("t", LoadRequest(schema="raw", table="t", load_id=engine.new_load_id(),
                                 write="replace", batches=old.to_reader(), state={"cursor": "old"}))  # fmt: skip
    before = (engine.fingerprint("raw", "t"), engine.read_state("t"))
    child = subprocess.Popen([sys.executable, "-c", _LOADER, postgres_url])
    try:
        copying = "select count(*) from pg_stat_activity where query ilike 'copy %' and pid <> pg_backend_pid()"
        deadline = time.monotonic() + 30
        while engine.execute(copying).fetchone() != (1,):
            assert child.poll() is None, "the loader ended before its COPY was seen"
            assert time.monotonic() < deadline, "no COPY seen within 30 s"
            time.sleep(0.05)
        time.sleep(0.3)  # well into the COPY
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    # the server notices the dead client and rolls its transaction back
    deadline = time.monotonic() + 10
    while engine.execute(copying).fetchone() != (0,) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (engine.fingerprint("raw", "t"), engine.read_state("t")) == before
    assert engine.execute("select count(*), min(id), max(id) from raw.t").fetchone() == (100, 0, 99)
    assert engine.execute("select count(*) from _headwater.loads").fetchone() == (1,)
    engine.close()


_WRITTEN_NOT_COMMITTED = textwrap.dedent(
    """
    import pathlib, sys, time, pyarrow as pa
    from headwater.engines import LoadRequest, open_engine
    engine = open_engine("postgres", sys.argv[1])

    def audit(cur, target):  # runs after the write, before the commit
        pathlib.Path(sys.argv[2]).write_text("written")
        time.sleep(60)

    new = pa.table({"id": list(range(1000, 1005))})
    engine.load("t", LoadRequest(schema="raw", table="t", load_id=engine.new_load_id(),
                                 write="replace", batches=new.to_reader(),
                                 state={"cursor": "new"}, audit=audit))
    """
)


def test_sigkill_after_the_write_before_the_commit_keeps_the_previous_table(
    postgres_url: str, tmp_path: Path
) -> None:
    engine = open_engine("postgres", postgres_url)
    engine.ensure_schemas({"raw"})
    old = pa.table({"id": list(range(100))})
    engine.load("t", LoadRequest(schema="raw", table="t", load_id=engine.new_load_id(),
                                 write="replace", batches=old.to_reader(), state={"cursor": "old"}))  # fmt: skip
    before = (engine.fingerprint("raw", "t"), engine.read_state("t"))
    flag = tmp_path / "written"
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITTEN_NOT_COMMITTED, postgres_url, str(flag)]
    )
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        # meanwhile a reader sees the committed table, at once (MVCC: no lock waited for)
        assert engine.execute("select count(*) from raw.t").fetchone() == (100,)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    assert (engine.fingerprint("raw", "t"), engine.read_state("t")) == before
    assert engine.execute("select count(*) from _headwater.loads").fetchone() == (1,)
    engine.close()
