"""Several servers on one metastore: queued runs claimed once each (FOR UPDATE SKIP LOCKED on
PostgreSQL), in priority then FIFO order; the leader lock; heartbeats and the take-over of a
dead server's runs and intervals."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from metastore_helpers import subprocess_env

from headwater.metastore import Metastore
from headwater.metastore import tables as t
from headwater.metastore.leader_lock import LeaderLock

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def _queue(ms: Metastore, run_id: str, pipeline: str | None = None) -> None:
    ms.start_run(run_id, project="p", selection=None, pipeline=pipeline, queued=True)


CHILD = """
import json, sys, time
from pathlib import Path
from headwater.metastore import Metastore

url, go, me = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
ms = Metastore.open(url)
Path(f"{go}.{me}").touch()  # opened: ready to claim
while not go.exists():
    time.sleep(0.005)
mine = []
while (record := ms.claim_next_run(me)) is not None:
    mine.append(record.run_id)
    ms.begin_run(record.run_id, {})
    time.sleep(0.002)  # the run itself: a server never claims in a tight loop, and on
    # SQLite a process that does can hold the write lock until the queue is empty
    ms.finish_run(record.run_id, "success")
ms.close()
print(json.dumps(mine))
"""


def test_two_processes_claim_each_queued_run_once(url: str, tmp_path: Path) -> None:
    with Metastore.open(url) as ms:
        for i in range(200):
            _queue(ms, f"run-{i:03d}")
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, url, str(go), f"server-{n}"],
            env=subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    deadline = time.monotonic() + 120
    while not all(Path(f"{go}.server-{n}").exists() for n in range(2)):  # both opened
        assert time.monotonic() < deadline, "the children never opened the metastore"
        assert all(child.poll() is None for child in children), "a child exited early"
        time.sleep(0.01)
    go.touch()
    got = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        got.append(json.loads(out))
    assert set(got[0]).isdisjoint(got[1])
    assert sorted(got[0] + got[1]) == [f"run-{i:03d}" for i in range(200)]
    assert all(got), "both servers took runs"
    with Metastore.open(url) as ms:
        assert {r.status for r in ms.runs(300)} == {"success"}
        assert ms.claimed_by(got[0][0]) == "server-0"
        assert ms.claimed_by(got[1][0]) == "server-1"


def test_claims_take_priority_then_oldest(store: Metastore) -> None:
    for run_id, pipeline in [("a", "low"), ("b", None), ("c", "high"), ("d", "high")]:
        _queue(store, run_id, pipeline)
        time.sleep(0.002)  # distinct queued times
    priorities = {"high": 5, "low": -1}
    order = []
    while (record := store.claim_next_run("s1", priorities)) is not None:
        order.append(record.run_id)
    assert order == ["c", "d", "b", "a"]
    assert store.claim_next_run("s2") is None  # all claimed: none twice
    assert store.release_claim("a", "s1")
    assert not store.release_claim("a", "s1")  # not claimed any more
    assert store.claim_next_run("s2", priorities).run_id == "a"  # type: ignore[union-attr]


def test_a_run_being_claimed_is_skipped_not_waited_for(postgres_url: str) -> None:
    with Metastore.open(postgres_url) as ms:
        _queue(ms, "first")
        time.sleep(0.002)
        _queue(ms, "second")
        other = sa.create_engine(postgres_url)
        try:
            with other.begin() as conn:  # another server, mid-claim on the oldest run
                conn.execute(
                    sa.select(t.runs.c.run_id).where(t.runs.c.run_id == "first").with_for_update()
                )
                began = time.monotonic()
                record = ms.claim_next_run("s2")
                assert time.monotonic() - began < 2.0  # not blocked on the locked row
                assert record is not None and record.run_id == "second"
        finally:
            other.dispose()
        assert ms.claim_next_run("s2").run_id == "first"  # type: ignore[union-attr]


def test_a_cancelled_queued_run_is_never_claimed(store: Metastore) -> None:
    _queue(store, "r1")
    assert store.drop_queued_run("r1")
    assert not store.drop_queued_run("r1")
    assert store.claim_next_run("s1") is None
    assert store.get_run("r1").status == "interrupted"  # type: ignore[union-attr]


def _age(ms: Metastore, server_id: str, seconds: float) -> None:
    """Make ``server_id``'s last heartbeat ``seconds`` old (as if it died then)."""
    with ms.engine.begin() as conn:
        conn.execute(
            t.servers.update()
            .where(t.servers.c.server_id == server_id)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(seconds=seconds))
        )


def test_a_dead_servers_runs_and_intervals_are_taken_over(url: str) -> None:
    with Metastore.open(url) as ms:
        ms.register_server("dead", "http://127.0.0.1:1")
        ms.register_server("alive", None)
        with pytest.raises(ValueError, match="recorded already"):
            ms.register_server("alive", None)
        ms.enqueue_intervals("daily", [(T0, T0 + HOUR), (T0 + HOUR, T0 + 2 * HOUR)])
        # "running": claimed, begun, a step running, its interval held
        _queue(ms, "running", "daily")
        assert ms.claim_interval("daily", T0, "running")
        assert ms.claim_next_run("dead").run_id == "running"  # type: ignore[union-attr]
        assert ms.begin_run("running", {"interval_start": T0.isoformat()})
        ms.upsert_step("running", "t.x", kind="task", status="running", started_at=T0)
        # "committed": its run succeeded before the server died, the ledger not told yet
        _queue(ms, "committed", "daily")
        assert ms.claim_interval("daily", T0 + HOUR, "committed")
        assert ms.claim_next_run("dead").run_id == "committed"  # type: ignore[union-attr]
        assert ms.begin_run("committed", {})
        ms.finish_run("committed", "success")
        # "claimed": taken from the queue, never begun
        _queue(ms, "claimed")
        assert ms.claim_next_run("dead").run_id == "claimed"  # type: ignore[union-attr]

        assert ms.take_over_stale(timedelta(seconds=30), "alive") == []  # all beat lately
        _age(ms, "dead", 60)
        (done,) = ms.take_over_stale(timedelta(seconds=30), "alive")
        assert (done.server.server_id, done.interrupted, done.released) == (
            "dead",
            ["running"],
            ["claimed"],
        )
        assert done.requeued == [("daily", T0)]
        assert ms.get_run("running").status == "interrupted"  # type: ignore[union-attr]
        (step,) = ms.step_runs("running")
        assert step.status == "failed"
        assert step.error is not None and "server dead" in step.error
        assert "stopped sending heartbeats" in step.error
        # the interval whose run did not finish is queued again; the committed one finished
        assert [(r.status, r.run_id) for r in ms.intervals("daily")] == [
            ("queued", "running"),
            ("success", "committed"),
        ]
        assert ms.claim_next_run("alive").run_id == "claimed"  # type: ignore[union-attr]
        assert [s.server_id for s in ms.servers()] == ["alive"]
        assert ms.take_over_stale(timedelta(seconds=30), "alive") == []
        # the dead one comes back (a long pause): its heartbeat says so, it registers again
        assert not ms.heartbeat("dead")
        assert ms.heartbeat("alive")


def test_settling_an_interval_touches_only_its_runs_row(store: Metastore) -> None:
    store.enqueue_intervals("daily", [(T0, T0 + HOUR)])
    assert store.claim_interval("daily", T0, "r1")
    assert not store.settle_interval("daily", T0, "r0", "success")  # not its run
    assert store.settle_interval("daily", T0, "r1", "interrupted")  # back to queued
    assert store.intervals("daily")[0].status == "queued"
    assert store.claim_interval("daily", T0, "r2")
    assert not store.settle_interval("daily", T0, "r1", "success")  # a late, stale end
    assert store.settle_interval("daily", T0, "r2", "success")
    assert store.intervals("daily")[0].status == "success"


def test_one_leader_lock_holder_and_takeover_when_its_session_dies(postgres_url: str) -> None:
    Metastore.open(postgres_url).close()
    engines = [sa.create_engine(postgres_url) for _ in range(3)]
    try:
        first, second = LeaderLock(engines[0], "shop"), LeaderLock(engines[1], "shop")
        assert first.hold() and first.held
        assert not second.hold() and not second.held
        assert LeaderLock(engines[1], "other project").hold()  # a lock per project
        assert first.hold()  # still held: its connection answers
        first.release()
        assert second.hold()
        # the leader's session ends (as when its process is killed): a standby takes over
        with engines[2].connect() as admin:
            pids = admin.execute(
                sa.text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid <> pg_backend_pid()"
                )
            ).scalars()
            for pid in set(pids):
                admin.execute(sa.select(sa.func.pg_terminate_backend(pid)))
        deadline = time.monotonic() + 10
        while not first.hold():
            assert time.monotonic() < deadline, "the lock was not freed"
            time.sleep(0.1)
        assert not second.hold()  # it noticed its session is gone
    finally:
        for engine in engines:
            engine.dispose()


def test_threads_of_one_process_claim_disjoint_runs(store: Metastore) -> None:
    for i in range(40):
        _queue(store, f"r{i:02d}")
    got: list[list[str]] = [[] for _ in range(4)]
    barrier = threading.Barrier(4)

    def work(n: int) -> None:
        barrier.wait()
        while (record := store.claim_next_run(f"s{n}")) is not None:
            got[n].append(record.run_id)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    flat = [run_id for mine in got for run_id in mine]
    assert sorted(flat) == [f"r{i:02d}" for i in range(40)]
