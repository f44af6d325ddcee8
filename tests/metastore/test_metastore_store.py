"""Round trips, prefix lookup, abandonment and concurrency of the SQLite metastore."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from metastore_helpers import subprocess_env

from headwater.errors import HeadwaterError
from headwater.metastore import (
    ABANDONED_ERROR,
    AmbiguousRunIdError,
    Metastore,
    MetastoreError,
    RunRecord,
)


def _python(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_round_trip_sqlite(store: Metastore, round_trip: Callable[[Metastore], None]) -> None:
    round_trip(store)


def test_data_survives_reopen(sqlite_url: str) -> None:
    with Metastore.open(sqlite_url) as ms:
        ms.start_run("r1", project="p", selection="a+", params={"n": 1})
    with Metastore.open(sqlite_url) as ms:
        run = ms.get_run("r1")
    assert isinstance(run, RunRecord)
    assert (run.selection, run.params) == ("a+", {"n": 1})


def test_open_creates_parent_folder_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "metastore.sqlite"
    with Metastore.open(f"sqlite:///{path}") as ms:
        assert path.exists()
        with ms.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_in_memory_url(round_trip: Callable[[Metastore], None]) -> None:
    with Metastore.open("sqlite://") as ms:
        round_trip(ms)


def test_url_hides_password() -> None:
    with Metastore.open("sqlite://") as ms:
        assert ms.url == "sqlite://"
    with pytest.raises(MetastoreError) as info:
        Metastore.open("postgresql+psycopg://me:s3cret@127.0.0.1:1/db")
    assert "s3cret" not in str(info.value)
    assert isinstance(info.value, HeadwaterError)


def test_start_run_twice_is_refused(store: Metastore) -> None:
    store.start_run("r1", project="p", selection=None)
    with pytest.raises(ValueError, match="already exists"):
        store.start_run("r1", project="p", selection=None)


def test_finish_run_checks(store: Metastore) -> None:
    with pytest.raises(ValueError, match="unknown run"):
        store.finish_run("nope", "success")
    store.start_run("r1", project="p", selection=None)
    with pytest.raises(ValueError, match="final run status"):
        store.finish_run("r1", "running")
    with pytest.raises(ValueError, match="final run status"):
        store.finish_run("r1", "ok")
    store.finish_run("r1", "abandoned")
    run = store.get_run("r1")
    assert run is not None and run.status == "abandoned"


def test_params_that_json_cannot_hold_become_strings(store: Metastore) -> None:
    when = datetime(2025, 1, 2, tzinfo=UTC)
    store.start_run("r1", project="p", selection=None, params={"when": when, "path": Path("/x")})
    run = store.get_run("r1")
    assert run is not None
    assert run.params == {"when": str(when), "path": "/x"}


def test_runs_newest_first_with_limit(store: Metastore) -> None:
    for i in range(5):
        store.start_run(f"r{i}", project="p", selection=None)
        time.sleep(0.002)
    assert [r.run_id for r in store.runs()] == ["r4", "r3", "r2", "r1", "r0"]
    assert [r.run_id for r in store.runs(limit=2)] == ["r4", "r3"]
    assert store.runs(limit=0) == []


def test_get_run_by_prefix(store: Metastore) -> None:
    for run_id in ("20250301T0101-a1b2", "20250301T0101-a1c3", "20250302T0000-ffff", "x_y", "xzy"):
        store.start_run(run_id, project="p", selection=None)
    exact = store.get_run("20250302T0000-ffff")
    assert exact is not None and exact.run_id == "20250302T0000-ffff"
    unique = store.get_run("20250302")
    assert unique is not None and unique.run_id == "20250302T0000-ffff"
    one = store.get_run("20250301T0101-a1b")
    assert one is not None and one.run_id == "20250301T0101-a1b2"
    with pytest.raises(AmbiguousRunIdError) as info:
        store.get_run("20250301")
    assert info.value.matches == ["20250301T0101-a1b2", "20250301T0101-a1c3"]
    assert "20250301T0101-a1b2" in str(info.value)
    assert store.get_run("2026") is None
    assert store.get_run("") is None
    # LIKE wildcards are literal; case matters (SQLite's LIKE alone would ignore it)
    under = store.get_run("x_")
    assert under is not None and under.run_id == "x_y"
    assert store.get_run("20250301t") is None
    assert store.get_run("%") is None


def test_exact_id_wins_over_longer_ids(store: Metastore) -> None:
    store.start_run("abc", project="p", selection=None)
    store.start_run("abcd", project="p", selection=None)
    run = store.get_run("abc")
    assert run is not None and run.run_id == "abc"


def test_step_validation(store: Metastore) -> None:
    store.start_run("r1", project="p", selection=None)
    with pytest.raises(ValueError, match="step kind"):
        store.upsert_step("r1", "a", kind="sensor", status="running")
    with pytest.raises(ValueError, match="step status"):
        store.upsert_step("r1", "a", kind="model", status="done")
    with pytest.raises(ValueError, match="attempt status"):
        store.record_attempt(
            "r1", "a", 1, status="ok", started_at=datetime.now(UTC), finished_at=None, error=None
        )
    with pytest.raises(sa.exc.IntegrityError):  # start_run first
        store.upsert_step("no-such-run", "a", kind="model", status="running")
    assert store.step_runs("r1") == []


def test_naive_datetimes_are_refused(store: Metastore) -> None:
    store.start_run("r1", project="p", selection=None)
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        store.upsert_step("r1", "a", kind="model", status="running", started_at=datetime.now())


def test_aware_datetimes_come_back_in_utc(store: Metastore) -> None:
    store.start_run("r1", project="p", selection=None)
    paris = datetime(2025, 6, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    store.upsert_step("r1", "a", kind="task", status="running", started_at=paris)
    (step,) = store.step_runs("r1")
    assert step.started_at == paris
    assert step.started_at is not None and step.started_at.tzinfo is UTC
    assert step.started_at.hour == 12 and step.started_at.microsecond == 123456


def test_upsert_step_keeps_fields_not_given(store: Metastore) -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    store.start_run("r1", project="p", selection=None)
    store.upsert_step(
        "r1", "a", kind="model", status="failed", started_at=t0, error="x", attempts=3, rows_in=7
    )
    store.upsert_step("r1", "a", kind="model", status="success", rows_out=5)
    (step,) = store.step_runs("r1")
    assert (step.status, step.started_at, step.error, step.attempts) == ("success", t0, "x", 3)
    assert (step.rows_in, step.rows_out, step.finished_at, step.log_path) == (7, 5, None, None)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_mark_abandoned_with_dead_pid(store: Metastore) -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    for run_id in ("dead", "alive", "elsewhere", "done"):
        store.start_run(run_id, project="p", selection=None)
        store.upsert_step(run_id, "running_step", kind="model", status="running", started_at=t0)
        store.upsert_step(run_id, "pending_step", kind="model", status="pending")
        store.upsert_step(run_id, "ok_step", kind="source", status="success", started_at=t0)
        store.record_attempt(
            run_id, "running_step", 1, status="running", started_at=t0, finished_at=None, error=None
        )
    store.finish_run("done", "success")
    dead_pid = _dead_pid()
    runs = sa.table("runs", sa.column("run_id"), sa.column("pid"), sa.column("hostname"))
    with store.engine.begin() as conn:
        conn.execute(runs.update().where(runs.c.run_id.in_(["dead", "done"])).values(pid=dead_pid))
        conn.execute(
            runs.update()
            .where(runs.c.run_id == "elsewhere")
            .values(pid=dead_pid, hostname="another-host")
        )

    assert store.mark_abandoned() == ["dead"]
    assert store.mark_abandoned() == []

    statuses = {r.run_id: r.status for r in store.runs()}
    assert statuses == {
        "dead": "abandoned",
        "alive": "running",
        "elsewhere": "running",
        "done": "success",
    }
    dead = store.get_run("dead")
    assert dead is not None and dead.finished_at is not None
    steps = {s.step: s for s in store.step_runs("dead")}
    assert steps["running_step"].status == "failed"
    assert steps["running_step"].error == ABANDONED_ERROR == "abandoned: process died"
    assert steps["running_step"].finished_at is not None
    assert steps["pending_step"].status == "pending"
    assert (steps["ok_step"].status, steps["ok_step"].error) == ("success", None)
    (attempt,) = store.attempts("dead")
    assert (attempt.status, attempt.error) == ("failed", ABANDONED_ERROR)
    assert {s.status for s in store.step_runs("alive")} == {"running", "pending", "success"}


def test_mark_abandoned_after_a_real_process_dies(sqlite_url: str) -> None:
    # A child process starts a run and a step, then dies without finishing them.
    _python(
        "import os\n"
        "from datetime import UTC, datetime\n"
        "from headwater.metastore import Metastore\n"
        f"ms = Metastore.open({sqlite_url!r})\n"
        "ms.start_run('child-run', project='p', selection=None)\n"
        "ms.upsert_step('child-run', 's', kind='model', status='running',\n"
        "               started_at=datetime.now(UTC))\n"
        "os._exit(0)\n"
    )
    with Metastore.open(sqlite_url) as ms:
        run = ms.get_run("child-run")
        assert run is not None and run.status == "running" and run.pid != os.getpid()
        assert ms.mark_abandoned() == ["child-run"]
        run = ms.get_run("child-run")
        assert run is not None and run.status == "abandoned"
        (step,) = ms.step_runs("child-run")
        assert (step.status, step.error) == ("failed", ABANDONED_ERROR)


def test_concurrent_writes_from_8_threads(store: Metastore) -> None:
    steps_per_thread = 30
    errors: list[BaseException] = []
    start = threading.Barrier(9)
    stop_reading = threading.Event()

    def writer(n: int) -> None:
        try:
            start.wait()
            run_id = f"run-{n}"
            store.start_run(run_id, project="p", selection=None, params={"n": n})
            for i in range(steps_per_thread):
                step = f"step_{i}"
                t = datetime.now(UTC)
                store.upsert_step(run_id, step, kind="model", status="running", started_at=t)
                store.record_attempt(
                    run_id, step, 1, status="running", started_at=t, finished_at=None, error=None
                )
                store.record_attempt(
                    run_id, step, 1, status="success", started_at=t, finished_at=t, error=None
                )
                store.upsert_step(
                    run_id, step, kind="model", status="success", attempts=1, rows_out=i
                )
                store.set_watermark(f"asset_{n}", str(i), location="warehouse:s", run_id=run_id)
            store.finish_run(run_id, "success")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            start.wait()
            while not stop_reading.is_set():
                for run in store.runs(limit=50):
                    store.step_runs(run.run_id)
                store.watermarks()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    read_thread = threading.Thread(target=reader)
    for thread in [*threads, read_thread]:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    stop_reading.set()
    read_thread.join(timeout=60)
    assert errors == []

    runs = store.runs(limit=100)
    assert len(runs) == 8
    assert {r.status for r in runs} == {"success"}
    for run in runs:
        steps = store.step_runs(run.run_id)
        assert len(steps) == steps_per_thread
        assert {(s.status, s.attempts) for s in steps} == {("success", 1)}
        assert len(store.attempts(run.run_id)) == steps_per_thread
    assert sorted((w.asset, w.value) for w in store.watermarks()) == [
        (f"asset_{n}", str(steps_per_thread - 1)) for n in range(8)
    ]


def test_concurrent_writes_from_several_processes(sqlite_url: str) -> None:
    Metastore.open(sqlite_url).close()
    code = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from headwater.metastore import Metastore\n"
        f"ms = Metastore.open({sqlite_url!r})\n"
        "run_id = 'proc-' + sys.argv[1]\n"
        "ms.start_run(run_id, project='p', selection=None)\n"
        "for i in range(40):\n"
        "    ms.upsert_step(run_id, f's{i}', kind='model', status='running',\n"
        "                   started_at=datetime.now(UTC))\n"
        "    ms.upsert_step(run_id, f's{i}', kind='model', status='success')\n"
        "ms.finish_run(run_id, 'success')\n"
        "ms.close()\n"
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(n)],
            env=subprocess_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for child in children:
        _, err = child.communicate(timeout=240)
        assert child.returncode == 0, err
    with Metastore.open(sqlite_url) as ms:
        runs = ms.runs()
        assert sorted(r.run_id for r in runs) == [f"proc-{n}" for n in range(4)]
        for run in runs:
            assert run.status == "success"
            assert [s.status for s in ms.step_runs(run.run_id)] == ["success"] * 40


def test_another_process_reads_while_a_write_is_open(sqlite_url: str, tmp_path: Path) -> None:
    with Metastore.open(sqlite_url) as ms:
        ms.start_run("committed", project="p", selection=None)
    db_path = sqlite_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute(
            "UPDATE runs SET status = 'failed' WHERE run_id = 'committed'"
        )  # uncommitted: the reader must neither block nor see it
        started = time.monotonic()
        done = _python(
            "from headwater.metastore import Metastore\n"
            f"ms = Metastore.open({sqlite_url!r})\n"
            "print([(r.run_id, r.status) for r in ms.runs()])\n",
            timeout=25,
        )
        assert time.monotonic() - started < 25
        assert done.stdout.strip() == "[('committed', 'running')]"
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_importing_the_package_is_cheap() -> None:
    done = _python(
        "import sys\n"
        "import headwater.metastore as m\n"
        "from headwater.metastore import RunRecord, StepRunRecord, AttemptRecord, WatermarkRecord\n"
        "print('sqlalchemy' in sys.modules, 'alembic' in sys.modules)\n"
        "m.Metastore\n"
        "print('sqlalchemy' in sys.modules, 'alembic' in sys.modules)\n"
    )
    assert done.stdout.split() == ["False", "False", "True", "False"]


def test_public_names() -> None:
    import headwater.metastore as m

    for name in m.__all__:
        assert getattr(m, name) is not None
    with pytest.raises(AttributeError):
        _ = m.NoSuchThing
