"""MySQL/MariaDB failures: one clear line naming the connection, never the password, nothing
written; a server killed mid-extract is retried and the warehouse ends as if it never was."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from test_mysql_helpers import (
    connect,
    execute,
    no_query_like,
    project_toml,
    raw_tables,
    warehouse,
    write_and_run,
)

from headwater.errors import ConnectionError_
from headwater.runtime.run import RunResult
from headwater.sources.mysql import MySQLConnector
from headwater.testing.servers import MariaDBServer, free_port, mariadb_available

pytestmark = pytest.mark.skipif(not mariadb_available(), reason="MariaDB is not installed")

FAST_RETRIES = "retry_delay = 0.05"


def failed_once(root: Path, url: str, source: str = 'tables = ["t"]') -> tuple[str, RunResult]:
    result = write_and_run(root, project_toml(url, source, project=FAST_RETRIES))
    step = next(iter(result.steps.values()))
    assert step.status == "failed"
    assert raw_tables(root) == []  # nothing written to the warehouse
    error = step.error or ""
    assert "\n" not in error, error  # one line
    assert "connection 'my'" in error, error
    return error, result


def where(server: MariaDBServer, database: str) -> str:
    return f"({server.host}:{server.port}/{database})"


def test_wrong_password(mariadb_server, tmp_path) -> None:
    url = mariadb_server.url_for("headwater").replace(
        quote(mariadb_server.password), "Wr0ng-Pa55word"
    )
    error, result = failed_once(tmp_path, url)
    assert "access denied for user 'headwater'" in error
    assert where(mariadb_server, "headwater") in error
    assert "Wr0ng-Pa55word" not in error and mariadb_server.password not in error
    assert next(iter(result.steps.values())).attempts == 1  # not transient: no retry


def test_unreachable_port_is_transient_and_retried(tmp_path) -> None:
    port = free_port()
    url = f"mysql://headwater:S3cret-pw@127.0.0.1:{port}/shop?connect_timeout=1"
    error, result = failed_once(tmp_path, url, 'tables = ["t"]\nretries = 3')
    assert f"(127.0.0.1:{port}/shop): cannot connect to 127.0.0.1:{port}" in error
    assert "S3cret-pw" not in error
    assert next(iter(result.steps.values())).attempts == 4  # the 3 configured retries


def test_connect_timeout_is_short_and_transient() -> None:
    """A host that accepts TCP but never speaks: the connect gives up after connect_timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(ConnectionError_) as caught:
            MySQLConnector(
                f"mysql://u:S3cret-pw@127.0.0.1:{port}/db?connect_timeout=0.5", name="my"
            )
        assert time.monotonic() - started < 3
    assert getattr(caught.value, "transient", False) is True
    assert "cannot connect" in str(caught.value) and "S3cret-pw" not in str(caught.value)


def test_unknown_database(mariadb_server, tmp_path) -> None:
    url = mariadb_server.url_for("no_such_db")
    error, _ = failed_once(tmp_path, url)
    assert "database 'no_such_db' does not exist" in error
    assert where(mariadb_server, "no_such_db") in error
    assert mariadb_server.password not in error


def test_missing_table(mariadb_url, tmp_path) -> None:
    error, _ = failed_once(tmp_path, mariadb_url, 'tables = ["nope"]')
    assert "table 'nope'" in error and "does not exist" in error


def test_missing_cursor_column(mariadb_url, tmp_path) -> None:
    execute(mariadb_url, "create table t (id int primary key, updated_at datetime)")
    source = 'tables = ["t"]\ncursor = "modified"\nprimary_key = ["id"]\nwrite = "merge"'
    error, _ = failed_once(tmp_path, mariadb_url, source)
    assert "cursor column 'modified' does not exist (columns: id, updated_at)" in error


def test_permission_denied(mariadb_server, mariadb_url, tmp_path) -> None:
    database = mariadb_url.rsplit("/", 1)[1]
    user, password = f"ro_{uuid.uuid4().hex[:8]}", "Ro-pass-9f8e7d"
    execute(
        mariadb_url,
        "create table allowed (id int)",
        "create table secret (id int)",
        f"create user '{user}'@'%' identified by '{password}'",
        f"grant select on `{database}`.allowed to '{user}'@'%'",
    )
    url = f"mysql://{user}:{password}@{mariadb_server.host}:{mariadb_server.port}/{database}"
    error, _ = failed_once(tmp_path, url, 'tables = ["secret"]')
    assert "table 'secret'" in error and f"permission denied: user '{user}'" in error
    assert password not in error


def test_bad_initial_value_is_named(mariadb_url, tmp_path) -> None:
    execute(mariadb_url, "create table t (id int primary key, n bigint)")
    source = 'tables = ["t"]\ncursor = "n"\ninitial_value = "yesterday"\nwrite = "append"'
    error, _ = failed_once(tmp_path, mariadb_url, source)
    assert "cursor 'n'" in error and "yesterday" in error


# --- a server killed mid-extract -------------------------------------------------------

ROWS = 200_000


def test_server_killed_mid_extract_is_retried_to_the_same_result(tmp_path) -> None:
    with MariaDBServer(tmp_path / "my") as server:
        execute(
            server.url,
            "create table big (id bigint primary key, label varchar(200), amount decimal(12,2))",
            f"insert into big select seq, concat('row ', seq, repeat('x', 180)), seq / 100 "
            f"from seq_1_to_{ROWS}",
        )
        toml = project_toml(
            server.url,
            'tables = ["big"]\nprimary_key = ["id"]',
            project="retry_delay = 0.5\nretries = 3",
        )
        box: dict[str, RunResult] = {}
        runner = threading.Thread(target=lambda: box.update(r=write_and_run(tmp_path / "a", toml)))
        runner.start()
        watcher = connect(server.url)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the extract's SELECT has streamed for 0.1 s
            with watcher.cursor() as cur:
                cur.execute(
                    "select count(*) from information_schema.PROCESSLIST where ID <> "
                    "CONNECTION_ID() and INFO like 'SELECT `id` AS `id`%FROM `big`' "
                    "and TIME_MS > 100"
                )
                if cur.fetchone()[0]:
                    break
            time.sleep(0.01)
        server.kill()  # SIGKILL, as in a crash
        watcher.close()
        time.sleep(0.5)
        server.start()
        runner.join(timeout=60)
        result = box["r"]
        step = result.steps["raw.my_big"]
        assert step.status == "success", step.error
        assert step.attempts >= 2  # the first attempt lost its connection
        # an uninterrupted load of the same data
        clean = write_and_run(tmp_path / "b", toml)
        assert clean.steps["raw.my_big"].attempts == 1
    columns = "id, label, amount"
    interrupted = warehouse(tmp_path / "a", f"select {columns} from raw.my_big order by id")
    uninterrupted = warehouse(tmp_path / "b", f"select {columns} from raw.my_big order by id")
    assert len(interrupted) == ROWS
    assert interrupted == uninterrupted
    loads = warehouse(tmp_path / "a", "select count(*) from _headwater.loads")
    assert loads == [(1,)]  # the failed attempt committed nothing


def test_query_killed_mid_extract_is_retried(mariadb_url, tmp_path) -> None:
    """An administrator's KILL QUERY (error 1317) is transient too: the retry loads it all."""
    execute(
        mariadb_url,
        "create table k_data (id bigint primary key, label varchar(250))",
        "insert into k_data select seq, repeat('k', 240) from seq_1_to_200000",
        # 100 pauses of 20 ms: the extract runs on the server for 2 s or more, so the kill
        # lands in it (on the bare table the read could end before the kill arrived)
        "create view k as select id, label from k_data "
        "where (case when id % 2000 = 0 then sleep(0.02) else 0 end) = 0",
    )
    toml = project_toml(mariadb_url, 'tables = ["k"]', project=FAST_RETRIES + "\nretries = 3")
    box: dict[str, RunResult] = {}
    runner = threading.Thread(target=lambda: box.update(r=write_and_run(tmp_path / "p", toml)))
    runner.start()
    killer = connect(mariadb_url)
    deadline = time.monotonic() + 30
    killed = False
    while not killed and time.monotonic() < deadline:
        with killer.cursor() as cur:
            cur.execute(
                "select ID from information_schema.PROCESSLIST where INFO like "
                "'SELECT `id` AS `id`%FROM `k`' and INFO not like '%LIMIT 0' "
                "and ID <> CONNECTION_ID()"
            )
            for (query_id,) in cur.fetchall():
                cur.execute(f"KILL QUERY {query_id}")
                killed = True
        time.sleep(0.005)
    killer.close()
    runner.join(timeout=60)
    step = box["r"].steps["raw.my_k"]
    assert killed and step.status == "success", step.error
    assert step.attempts == 2, "the query was not killed mid-extract"
    assert warehouse(tmp_path / "p", "select count(*), count(distinct id) from raw.my_k") == [
        (200_000, 200_000)
    ]


def test_step_timeout_stops_a_slow_extract(mariadb_url, tmp_path) -> None:
    """A source's ``timeout`` stops the extract: the step ends soon after it, nothing is
    written, and the server's query is killed (it is not left running)."""
    execute(
        mariadb_url,
        "create table crawl_data (id bigint primary key, v varchar(40))",
        "insert into crawl_data select seq, md5(seq) from seq_1_to_40000",
        # 400 pauses of 50 ms: 20 s uninterrupted
        "create view crawl as select id, v from crawl_data where "
        "(case when id % 100 = 0 then sleep(0.05) else 0 end) = 0",
    )
    source = 'tables = ["crawl"]\nprimary_key = ["id"]\nwrite = "replace"\ntimeout = 1\nretries = 0'
    started = time.monotonic()
    result = write_and_run(tmp_path / "p", project_toml(mariadb_url, source))
    elapsed = time.monotonic() - started
    step = result.steps["raw.my_crawl"]
    assert step.status == "timed_out", step.error
    assert elapsed < 10, elapsed  # not the 20 s the extract needs
    assert raw_tables(tmp_path / "p") == []
    assert no_query_like(mariadb_url, "%crawl%"), "the extract's query still runs"


def test_scrub_masks_the_whole_password_when_a_known_secret_is_part_of_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A secret read from the environment elsewhere ("s3cret") must not be masked first,
    leaving the rest of this connection's password ("s3cret!") in the message."""
    from headwater.config import secrets
    from headwater.sources.mysql.errors import Endpoint

    monkeypatch.setattr(secrets, "_known_secrets", {"s3cret"})
    endpoint = Endpoint("connection 'my' (h:1/db)", "h:1", "app", "db", "s3cret!")
    assert endpoint.scrub("Access denied (using password s3cret!)") == (
        "Access denied (using password ***)"
    )
