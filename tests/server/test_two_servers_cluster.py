"""The servers of one PostgreSQL metastore, in one process (``Cluster``, server/leader.py):
one leader at a time, a standby takes the lead when the leader lets it go, the leader takes
over a silent server, and a server taken for dead stops its run and records itself again."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from server_process import wait_for

from headwater.metastore import Metastore
from headwater.metastore import tables as t
from headwater.project import Project
from headwater.server.leader import Cluster, heartbeat_every
from headwater.testing.cli import write_project
from headwater.testing.servers import PostgresServer


@pytest.fixture
def project(tmp_path: Path, postgres_server: PostgresServer) -> Project:
    name = f"t_{uuid.uuid4().hex[:12]}"
    postgres_server.create_database(name)
    url = postgres_server.url_for(name, scheme=postgres_server.sqlalchemy_scheme)
    toml = f'[project]\nname = "pair"\nmetastore = "{url}"\nheartbeat_timeout = 1.2\n'
    return Project.load(write_project(tmp_path / "p", {"headwater.toml": toml}))


def _ids(project: Project) -> set[str]:
    with Metastore.open(project.metastore_url) as ms:
        return {s.server_id for s in ms.servers()}


def _note(calls: list[str], what: str) -> Callable[[], None]:
    return lambda: calls.append(what)


def test_one_leader_then_the_standby_and_a_silent_server_taken_over(project: Project) -> None:
    assert heartbeat_every(1.2) == pytest.approx(0.2)
    assert heartbeat_every(30) == 5.0
    calls: list[str] = []
    first, second = Cluster(project, "http://127.0.0.1:1"), Cluster(project, None)
    first.on_lead.append(_note(calls, "first leads"))
    second.on_lead.append(_note(calls, "second leads"))
    first.on_lost.append(_note(calls, "first lost"))
    first.start()
    second.start()
    try:
        assert first.leading() and not second.leading()
        assert _ids(project) == {first.server_id, second.server_id}
        time.sleep(4 * first.every)
        assert not second.leading() and calls == ["first leads"]  # the lock stays with first

        # a server that stopped beating (killed): the leader takes it over after the timeout
        with Metastore.open(project.metastore_url) as ms:
            ms.register_server("ghost", None)
            with ms.engine.begin() as conn:
                conn.execute(
                    t.servers.update()
                    .where(t.servers.c.server_id == "ghost")
                    .values(heartbeat_at=datetime.now(UTC) - timedelta(seconds=5))
                )
        wait_for(lambda: "ghost" not in _ids(project), timeout=10)
        assert calls[-1] == "first leads"  # the take-over asks the scheduler to settle

        # first taken for dead (its row gone, as a take-over leaves it): it stops its run
        # and records itself again
        with Metastore.open(project.metastore_url) as ms, ms.engine.begin() as conn:
            conn.execute(t.servers.delete().where(t.servers.c.server_id == first.server_id))
        wait_for(lambda: "first lost" in calls, timeout=10)
        wait_for(lambda: first.server_id in _ids(project), timeout=10)

        first.stop()  # gives the lock up: the standby takes it on its next beat
        assert _ids(project) == {second.server_id}
        wait_for(lambda: calls[-1] == "second leads", timeout=10)
        assert second.leading() and not first.leading()
    finally:
        first.stop()
        second.stop()
    assert _ids(project) == set()
