"""The MySQL extract runs in a child process: while it waits for the server, the rest of the
process runs on; it can be cancelled at once; it does not outlive its parent."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from headwater.errors import HeadwaterError
from headwater.sources.connector import TableRead
from headwater.sources.mysql import MySQLConnector
from headwater.testing.servers import mariadb_available

pytestmark = pytest.mark.skipif(not mariadb_available(), reason="MariaDB is not installed")

SLOW = "select seq as id, sleep(0.5) as s from seq_1_to_4"  # 2 s before any row


def extract_processes() -> list[int]:
    """Pids of the extract children alive on this machine."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"sources/mysql/extract_process.py" in cmdline:
                found.append(int(entry.name))
    return found


def test_waiting_for_the_server_does_not_stop_other_threads(mariadb_url) -> None:
    connector = MySQLConnector(mariadb_url, name="my")
    ticks: list[float] = []
    done = threading.Event()

    def tick() -> None:
        while not done.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        rows = connector.read(TableRead(None, query=SLOW)).read_all().num_rows
    finally:
        done.set()
        ticker.join()
        connector.close()
    assert rows == 4
    gaps = [later - earlier for earlier, later in itertools.pairwise(ticks)]
    # in-process, connectorx held the GIL for the whole 2 s wait: one gap of ~2 s
    assert max(gaps) < 0.5, max(gaps)
    assert len(ticks) > 50


def test_cancel_stops_the_extract_at_once(mariadb_url) -> None:
    before = set(extract_processes())
    connector = MySQLConnector(mariadb_url, name="my")
    reader = connector.read(
        TableRead(None, query="select seq as id, sleep(20) as s from seq_1_to_2")
    )
    threading.Timer(0.5, connector.cancel).start()
    started = time.monotonic()
    with pytest.raises(HeadwaterError, match="cancelled"):
        reader.read_all()
    assert time.monotonic() - started < 5
    connector.close()
    assert set(extract_processes()) - before == set()  # reaped


def test_closing_the_connector_ends_an_extract_never_read(mariadb_url) -> None:
    """A load that fails before it reads the rows (the warehouse refused it) still closes
    its connector: the child process started for the read goes with it."""
    before = set(extract_processes())
    connector = MySQLConnector(mariadb_url, name="my")
    connector.read(TableRead(None, query=SLOW))  # never consumed
    assert set(extract_processes()) - before  # the child runs
    connector.close()
    assert set(extract_processes()) - before == set()  # reaped


CHILD = """
import sys
from headwater.sources.connector import TableRead
from headwater.sources.mysql import MySQLConnector
connector = MySQLConnector(sys.argv[1], name="my")
reader = connector.read(TableRead(None, query="select seq as id, sleep(30) as s from seq_1_to_2"))
print("reading", flush=True)
reader.read_all()
"""


def test_the_extract_dies_with_its_parent(mariadb_url, tmp_path) -> None:
    before = set(extract_processes())
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD, mariadb_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "reading"
        deadline = time.monotonic() + 10
        while not set(extract_processes()) - before and time.monotonic() < deadline:
            time.sleep(0.05)
        children = set(extract_processes()) - before
        assert children, "no extract process started"
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 5
    while any(pid in extract_processes() for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(pid in extract_processes() for pid in children)
