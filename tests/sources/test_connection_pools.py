"""``max_concurrent`` on a connection: no more than N extracts from it at once, the wait is
logged, a waiting step can still be cancelled, and a bad value is refused on its line."""

from __future__ import annotations

import itertools
import logging
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from headwater.config.settings import load_settings
from headwater.errors import ConfigError, SourceError
from headwater.project import load_project
from headwater.runtime import run
from headwater.sources import cancel_read
from headwater.sources.pools import connection_slot
from headwater.testing.cli import write_project

TABLES = ["t1", "t2", "t3", "t4"]


def _project(project_dir, limit: str) -> Path:
    toml = (
        '[project]\nname = "pools"\nthreads = 4\n\n'
        f'[connections.shop]\nurl = "sqlite:///shop.sqlite"\n{limit}\n'
        f'[sources.shop]\nconnection = "shop"\ntables = {TABLES!r}\nwrite = "replace"\n'
    ).replace("'", '"')
    root = project_dir({"headwater.toml": toml})
    con = sqlite3.connect(root / "shop.sqlite")
    for name in TABLES:
        con.execute(f"create table {name} (id integer primary key, v text)")
        con.executemany(f"insert into {name} values (?, ?)", ((i, "x" * 20) for i in range(20_000)))
    con.commit()
    con.close()
    return root


def _held(log: str) -> tuple[datetime, datetime]:
    """When the step held its slot, from the step log's 'took' and 'released' lines."""
    stamps = {}
    for line in log.splitlines():
        for word in ("took a slot", "released the slot"):
            if word in line:
                stamps[word] = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    return stamps["took a slot"], stamps["released the slot"]


def test_one_slot_lets_one_extract_read_at_a_time(project_dir):
    root = _project(project_dir, "max_concurrent = 1")
    result = run(load_project(root))
    assert result.status == "success"
    (logs,) = root.glob(".headwater/logs/*/")
    texts = [(logs / f"raw.shop_{t}.log").read_text() for t in TABLES]
    held = sorted(_held(text) for text in texts)
    for (_, end), (start, _) in itertools.pairwise(held):
        assert end <= start, held  # each extract took the slot after the previous released it
    assert any("waiting for a slot of connection shop (1 of 1 in use)" in t for t in texts)


def test_without_a_limit_no_slot_is_taken(project_dir):
    root = _project(project_dir, "")
    assert run(load_project(root)).status == "success"
    (logs,) = root.glob(".headwater/logs/*/")
    for t in TABLES:
        log = logs / f"raw.shop_{t}.log"
        assert "slot" not in (log.read_text() if log.exists() else "")


def test_no_more_than_the_limit_hold_slots_across_threads():
    inside, most, lock = [0], [0], threading.Lock()
    log = logging.getLogger("test.pools.limit")

    def extract() -> None:
        with connection_slot("limit-two", 2, log):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.05)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=extract) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 2


def test_a_step_waiting_for_a_slot_is_cancelled_like_a_read(caplog):
    log = logging.getLogger("test.pools.cancel")
    held, release = threading.Event(), threading.Event()
    outcome: list[BaseException | None] = []

    def holder() -> None:
        with connection_slot("busy", 1, log):
            held.set()
            release.wait(10)

    def waiter() -> None:
        try:
            with connection_slot("busy", 1, log):
                outcome.append(None)
        except SourceError as exc:
            outcome.append(exc)

    first = threading.Thread(target=holder)
    first.start()
    held.wait(5)
    with caplog.at_level(logging.INFO, logger="test.pools.cancel"):
        second = threading.Thread(target=waiter)
        second.start()
        deadline = time.monotonic() + 5
        while "waiting for a slot" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "waiting for a slot of connection busy (1 of 1 in use)" in caplog.text
        assert second.ident is not None
        cancel_read(second.ident)  # what a step timeout or Ctrl-C calls for a source step
        second.join(5)
    release.set()
    first.join(5)
    assert not second.is_alive()
    assert isinstance(outcome[0], SourceError) and "busy" in str(outcome[0])


def test_a_zero_limit_is_refused_on_its_line(tmp_path: Path):
    toml = '[connections.shop]\nurl = "sqlite:///shop.sqlite"\nmax_concurrent = 0\n'
    root = write_project(tmp_path, {"headwater.toml": toml})
    with pytest.raises(ConfigError) as err:
        load_settings(root / "headwater.toml")
    message = str(err.value)
    assert message.startswith(f"{root / 'headwater.toml'}:")
    assert "connections.shop.max_concurrent" in message
    assert "greater than or equal to 1" in message and len(message.splitlines()) == 1
