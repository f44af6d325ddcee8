"""PostgreSQL failures: one clear line naming the connection, never the password, nothing
written; a server killed mid-extract is retried and the result equals an uninterrupted load."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from test_postgres_helpers import pg, pg_rows

from headwater.errors import ConnectionError_, SourceError
from headwater.metastore import Metastore
from headwater.project import load_project
from headwater.runtime import run
from headwater.sources.connector import TableRead
from headwater.sources.postgres import LostConnection, PostgresConnector
from headwater.testing.cli import query_warehouse as warehouse
from headwater.testing.servers import PostgresServer, free_port, postgres_available

pytestmark = pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not installed")

SECRET = "s3cr3t-Pässword"


def project(
    project_dir: Any, url: str, source: str, name: str = "proj", retry_delay: float = 0.05
) -> Path:
    toml = f"""
[project]
name = "errors"
retry_delay = {retry_delay}

[connections.pg]
url = "{url}"
{source}"""
    root: Path = project_dir({"headwater.toml": toml}, name=name)
    return root


ORDERS = """
[sources.pg]
connection = "pg"
tables = ["{table}"]
primary_key = ["id"]
cursor = "{cursor}"
write = "merge"
"""


def failed_once(root: Path, *secrets: str) -> tuple[str, int]:
    """Run; the step fails; returns (error, attempts). Asserts nothing leaked or was written."""
    project_ = load_project(root)
    result = run(project_)
    (name,) = result.steps
    step = result.steps[name]
    assert result.status == "failed" and step.status == "failed"
    error = step.error or ""
    assert "\n" not in error, error
    stored = b"".join(p.read_bytes() for p in (root / ".headwater").rglob("*") if p.is_file())
    for secret in secrets:
        assert secret not in error
        assert secret.encode() not in stored  # metastore, logs, warehouse
    tables = warehouse(
        root, "select count(*) from information_schema.tables where table_schema = 'raw'"
    )
    assert tables == [(0,)]
    store = Metastore.open(project_.metastore_url)
    try:
        assert secret_free(store, result.run_id, secrets)
    finally:
        store.close()
    return error, step.attempts


def secret_free(store: Metastore, run_id: str, secrets: tuple[str, ...]) -> bool:
    text = repr(store.get_run(run_id)) + repr(store.step_runs(run_id))
    return not any(s in text for s in secrets)


@pytest.fixture
def reader(postgres_server: PostgresServer, postgres_url: str) -> str:
    """URL of a login role ``reader`` with password SECRET on a database with a table."""
    pg(
        postgres_url,
        "create table orders (id int primary key, v text, updated_at timestamptz)",
        "insert into orders values (1, 'a', now())",
        "create table secret (id int primary key, v text)",
        "do $$ begin if not exists (select from pg_roles where rolname = 'reader') then "
        f"create role reader login password '{SECRET}'; end if; end $$",
        "grant select on orders to reader",
    )
    return postgres_url.replace(
        f"{postgres_server.user}:{postgres_server.password}@", f"reader:{SECRET}@"
    )


def test_wrong_password(project_dir: Any, reader: str, postgres_server: PostgresServer) -> None:
    wrong = reader.replace(SECRET, "not-the-" + SECRET)
    root = project(project_dir, wrong, ORDERS.format(table="orders", cursor="updated_at"))
    error, attempts = failed_once(root, SECRET, "not-the-" + SECRET)
    database = reader.rsplit("/", 1)[1]
    where = f"connection 'pg' ({postgres_server.host}:{postgres_server.port}/{database})"
    assert error.startswith(where), error
    assert 'password authentication failed for user "reader"' in error
    assert attempts == 1  # not transient: retrying cannot help


def test_unreachable_port_is_transient(project_dir: Any) -> None:
    port = free_port()
    url = f"postgresql://app:{SECRET}@127.0.0.1:{port}/shop"
    source = ORDERS.format(table="orders", cursor="updated_at") + "retries = 3\n"
    root = project(project_dir, url, source)
    started = time.monotonic()
    error, attempts = failed_once(root, SECRET)
    assert error.startswith(f"connection 'pg' (127.0.0.1:{port}/shop): cannot connect:"), error
    assert "Connection refused" in error
    assert attempts == 4  # the configured retries, with backoff
    assert time.monotonic() - started < 20


def test_unknown_host_is_transient_with_a_short_timeout() -> None:
    with pytest.raises(ConnectionError_) as info:
        PostgresConnector(f"postgresql://app:{SECRET}@no-such-host.invalid/shop", name="pg")
    assert isinstance(info.value, LostConnection) and info.value.transient
    message = str(info.value)
    assert message.startswith("connection 'pg' (no-such-host.invalid:5432/shop): cannot connect")
    assert SECRET not in message


def test_missing_table(project_dir: Any, reader: str) -> None:
    root = project(project_dir, reader, ORDERS.format(table="nope", cursor="updated_at"))
    error, _ = failed_once(root, SECRET)
    assert "connection 'pg' (" in error and "table 'nope': does not exist" in error
    assert "orders" in error  # what there is instead


def test_missing_cursor_column(project_dir: Any, reader: str) -> None:
    root = project(project_dir, reader, ORDERS.format(table="orders", cursor="modified"))
    error, attempts = failed_once(root, SECRET)
    assert "table 'orders': cursor column 'modified' does not exist" in error
    assert "columns: id, v, updated_at" in error
    assert attempts == 1


def test_permission_denied(project_dir: Any, reader: str) -> None:
    root = project(project_dir, reader, ORDERS.format(table="secret", cursor="id"))
    error, attempts = failed_once(root, SECRET)
    assert "connection 'pg' (" in error
    assert "table 'secret': permission denied for table secret" in error
    assert attempts == 1


def test_value_that_does_not_fit_names_the_column(postgres_url: str) -> None:
    pg(
        postgres_url,
        "create table m (id int, grid int[], amount numeric(30,2), price numeric(9,2))",
        "insert into m values (1, '{1}', 1.5, 1), (2, '{{1,2},{3,4}}', 2, 2)",
    )
    con = PostgresConnector(postgres_url, name="pg")
    try:
        with pytest.raises(SourceError, match=r"column 'grid' holds a 2-dimensional array"):
            con.read(TableRead("m")).read_all()
        pg(postgres_url, "update m set grid = '{1}'", "insert into m values (3, null, 'NaN', 3)")
        with pytest.raises(SourceError, match=r"column 'amount': value 'NaN' does not fit"):
            con.read(TableRead("m")).read_all()
        pg(postgres_url, "update m set amount = 0, price = 'NaN' where id = 3")
        with pytest.raises(SourceError, match=r"NaN in numeric column 'amount' or 'price'"):
            con.read(TableRead("m")).read_all()
    finally:
        con.close()


def test_native_read_refuses_a_numeric_nan(project_dir: Any, postgres_url: str) -> None:
    """DuckDB's postgres extension reads NaN as 0: the load must fail, not store a 0.
    (A numeric(p,s) cannot hold an infinity.)"""
    pg(
        postgres_url,
        "create table prices (id int primary key, price numeric(9,2), qty numeric(5,0))",
        "insert into prices values (1, 1.50, 0), (2, 0, 3)",  # real zeros in both columns
        "insert into prices values (3, 'NaN', 1)",
    )
    source = 'tables = ["prices"]\nprimary_key = ["id"]\nwrite = "merge"\ntransport = "native"'
    root = project(project_dir, postgres_url, f'[sources.pg]\nconnection = "pg"\n{source}\n')
    error, attempts = failed_once(root)
    assert "table 'prices'" in error and attempts == 1
    assert "a NaN in numeric column 'price':" in error, error  # not 'qty'
    pg(postgres_url, "update prices set price = 2 where id = 3")
    assert run(load_project(root)).status == "success"
    assert warehouse(root, "select id, price, qty from raw.pg_prices order by id") == [
        (1, Decimal("1.50"), Decimal("0")),
        (2, Decimal("0.00"), Decimal("3")),
        (3, Decimal("2.00"), Decimal("1")),
    ]


@pytest.mark.parametrize("transport", ["arrow", "native"])
def test_step_timeout_stops_a_slow_extract(
    project_dir: Any, postgres_url: str, transport: str
) -> None:
    """A source's ``timeout`` interrupts the extract on either transport: the step ends
    soon after it, nothing is written, and the server stops sending."""
    pg(
        postgres_url,
        "create table crawl_data (id bigint primary key, v text)",
        "create function crawl(id bigint) returns boolean language plpgsql as $$ begin "
        "if id % 100 = 0 then perform pg_sleep(0.05); end if; return true; end $$",
        "create view crawl as select * from crawl_data where crawl(id)",
        "insert into crawl_data select g, md5(g::text) from generate_series(1, 40000) g",
    )  # 400 pauses of 50 ms: 20 s uninterrupted
    source = (
        '[sources.pg]\nconnection = "pg"\ntables = ["crawl"]\nprimary_key = ["id"]\n'
        f'write = "replace"\ntimeout = 1\nretries = 0\ntransport = "{transport}"\n'
    )
    root = project(project_dir, postgres_url, source)
    started = time.monotonic()
    result = run(load_project(root))
    elapsed = time.monotonic() - started
    step = result.steps["raw.pg_crawl"]
    assert step.status == "timed_out", step.error
    assert "timed out after 1" in (step.error or "")
    assert elapsed < 10, elapsed  # not the 20 s the extract needs
    tables = "select count(*) from information_schema.tables where table_schema = 'raw'"
    assert warehouse(root, tables) == [(0,)]
    deadline = time.monotonic() + 10
    active = (
        "select count(*) from pg_stat_activity where query ilike 'COPY%crawl%' and state = 'active'"
    )
    while pg_rows(postgres_url, active) != [(0,)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pg_rows(postgres_url, active) == [(0,)]


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["arrow", "native"])
def test_server_killed_mid_extract(project_dir: Any, tmp_path: Path, transport: str) -> None:
    with PostgresServer(tmp_path / "pg") as server:
        url = server.url
        pg(
            url,
            "create table events_data (id bigint primary key, payload text, updated_at timestamptz)",
            # The server streams the rows at a bounded pace (a pause every 10,000 rows), so the
            # extract lasts over a second however fast the client reads: the kill below must
            # land mid-stream even when the watcher thread is starved on a busy 2-core runner.
            "create function paced(id bigint) returns boolean language plpgsql as $$ begin "
            "if id % 10000 = 0 then perform pg_sleep(0.03); end if; return true; end $$",
            "create view events as select * from events_data where paced(id)",
            "insert into events_data select g, repeat(md5(g::text), 3), "
            "timestamptz '2024-01-01' + g * interval '1 second' from generate_series(1, 1000) g",
        )
        source = ORDERS.format(table="events", cursor="updated_at").replace("merge", "append")
        source += f'transport = "{transport}"\nretries = 3\n'
        root = project(project_dir, url, source)
        assert run(load_project(root)).status == "success"
        mark = warehouse(root, "select state from _headwater.state")
        pg(
            url,
            "insert into events_data select g, repeat(md5(g::text), 3), "
            "timestamptz '2024-01-01' + g * interval '1 second' "
            "from generate_series(1001, 400000) g",
        )
        expected = _checksum(url)

        # 1. killed and not back before the retries run out: the run fails, nothing changes
        killer = _kill_when_copying(server, restart_after=None)
        failed = run(load_project(root))
        killer.join()
        step = failed.steps["raw.pg_events"]
        assert failed.status == "failed" and step.attempts == 4, step.error
        assert "connection 'pg' (" in (step.error or "")
        assert warehouse(root, "select count(*) from raw.pg_events") == [(1000,)]
        assert warehouse(root, "select state from _headwater.state") == mark

        # 2. killed and restarted during the backoff (1 s, 2 s, 4 s): the retry loads it all
        _start(server)
        project(project_dir, url, source, retry_delay=1)
        killer = _kill_when_copying(server, restart_after=0.0)
        result = run(load_project(root))
        killer.join()
        step = result.steps["raw.pg_events"]

        assert result.status == "success", step.error
        assert step.attempts >= 2
        got = warehouse(
            root,
            "select count(*), count(distinct id), sum(id), md5(string_agg(payload, '' order by id))"
            " from raw.pg_events",
        )
        assert got == [expected]
        assert run(load_project(root)).steps["raw.pg_events"].result["rows_out"] == 0


def _start(server: PostgresServer) -> None:
    """start() right after kill(): the dead server's shared memory may linger a moment."""
    for attempt in range(50):
        try:
            server.start()
            return
        except RuntimeError as exc:
            if "shared memory" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.1)


def _checksum(url: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as con:
        row = con.execute(
            "select count(*), count(distinct id), sum(id), md5(string_agg(payload, '' order by id))"
            " from events"
        ).fetchone()
    assert row is not None
    return (row[0], row[1], int(row[2]), row[3])


def _kill_when_copying(server: PostgresServer, restart_after: float | None) -> threading.Thread:
    """A thread that SIGKILLs the server once a COPY of ours runs (then maybe restarts it)."""
    admin = psycopg.connect(server.url, autocommit=True)

    def watch() -> None:
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                row = admin.execute(
                    "select count(*) from pg_stat_activity where application_name = 'headwater' "
                    "and state = 'active' and query ilike 'COPY (select%' and query not ilike '%limit 0)%' "
                    # the data's COPY, not a catalog query (through Arrow or natively)
                    """and query ~* 'from "?public"?\\."?events"?'"""
                ).fetchone()
                if row and row[0]:
                    break
                time.sleep(0.005)
            time.sleep(0.02)  # some batches are in the warehouse's hands already
        finally:
            admin.close()
        server.kill()
        if restart_after is not None:
            time.sleep(restart_after)
            _start(server)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_reprs_never_show_the_password() -> None:
    """Objects that carry the URL (for libpq, for DuckDB) may end up in a log or a
    traceback by their repr: it must not hold the password."""
    from headwater.engines.base import DatabaseScan
    from headwater.sources.postgres.errors import Address

    address = Address.parse(f"postgresql://app:{SECRET}@127.0.0.1:5432/shop", "pg")
    scan = DatabaseScan("postgres", address.uri, "public", "t", translate_error=Exception)
    for obj in (address, scan):
        assert SECRET not in repr(obj) and SECRET not in str(obj)
    assert SECRET in address.uri  # still there for the driver


def no_probe_left(url: str) -> bool:
    """Whether, within 5 s, no session runs a NaN probe (a cancelled backend may take a
    moment to go)."""
    probes = (
        "select count(*) from pg_stat_activity where query like '%NaN%' and pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + 5
    while pg_rows(url, probes) != [(0,)] and time.monotonic() < deadline:
        time.sleep(0.1)
    return pg_rows(url, probes) == [(0,)]


def test_native_read_does_not_wait_for_a_nan_probe_it_does_not_need(
    project_dir: Any, postgres_url: str
) -> None:
    """The NaN probe runs beside the warehouse's scan. When no loaded numeric value is 0
    (the only value a NaN can hide behind) the load commits without waiting for it, and
    no probe is left running on the server."""
    pg(
        postgres_url,
        "create table priced_data (id int primary key, price numeric(9,2))",
        "insert into priced_data select g, g + 0.5 from generate_series(1, 400) g",
        # 50 ms per row, but only in a query that looks for a NaN: 20 s for the probe
        "create function probe_crawl(v numeric) returns numeric language plpgsql as $$ "
        "begin if current_query() like '%NaN%' then perform pg_sleep(0.05); end if; "
        "return v; end $$",
        "create view priced as select id, probe_crawl(price)::numeric(9,2) as price "
        "from priced_data",
    )
    source = '[sources.pg]\nconnection = "pg"\ntables = ["priced"]\ntransport = "native"\n'
    root = project(project_dir, postgres_url, source)
    started = time.monotonic()
    assert run(load_project(root)).status == "success"
    assert time.monotonic() - started < 10  # not the probe's 20 s
    assert warehouse(root, "select count(*), min(price) from raw.pg_priced") == [
        (400, Decimal("1.50"))
    ]
    assert no_probe_left(postgres_url)


def test_step_timeout_stops_a_nan_probe_the_load_waits_for(
    project_dir: Any, postgres_url: str
) -> None:
    """With a 0 among the loaded numeric values the load waits for the NaN probe; a step
    timeout during that wait ends the step and the probe on the server."""
    pg(
        postgres_url,
        "create table zeroed_data (id int primary key, price numeric(9,2))",
        "insert into zeroed_data select g, g % 2 from generate_series(1, 400) g",
        "create function probe_crawl_z(v numeric) returns numeric language plpgsql as $$ "
        "begin if current_query() like '%NaN%' then perform pg_sleep(0.05); end if; "
        "return v; end $$",
        "create view zeroed as select id, probe_crawl_z(price)::numeric(9,2) as price "
        "from zeroed_data",
    )
    source = (
        '[sources.pg]\nconnection = "pg"\ntables = ["zeroed"]\ntransport = "native"\n'
        "timeout = 2\nretries = 0\n"
    )
    root = project(project_dir, postgres_url, source)
    started = time.monotonic()
    step = run(load_project(root)).steps["raw.pg_zeroed"]
    assert step.status == "timed_out", step.error
    assert time.monotonic() - started < 10  # not the probe's 20 s
    tables = "select count(*) from information_schema.tables where table_schema = 'raw'"
    assert warehouse(root, tables) == [(0,)]
    assert no_probe_left(postgres_url)


def test_nan_probe_runs_in_one_server_process(project_dir: Any, postgres_url: str) -> None:
    """The probe only has to end before the scan does; parallel workers would take cores
    from the scan (see ``native.PROBE_SETUP``). In a database where every scan is planned
    in parallel, the probe still runs in one server process."""
    database = postgres_url.rsplit("/", 1)[1]
    pg(
        postgres_url,
        "create table spread_data (id int primary key, price numeric(9,2))",
        "insert into spread_data select g, g % 2 from generate_series(1, 2000) g",
        # 1 ms per row in a query that looks for a NaN (leader and workers alike): the
        # probe runs for seconds, long enough to be watched
        "create function probe_pause(v numeric) returns numeric language plpgsql "
        "parallel safe as $$ begin if current_query() like '%NaN%' then "
        "perform pg_sleep(0.001); end if; return v; end $$",
        "create view spread as select id, probe_pause(price)::numeric(9,2) as price "
        "from spread_data",
        *(
            f'alter database "{database}" set {name} = 0'
            for name in (
                "parallel_setup_cost",
                "parallel_tuple_cost",
                "min_parallel_table_scan_size",
            )
        ),
    )
    seen: dict[str, int] = {"probe": 0, "workers": 0}
    done = threading.Event()

    def watch() -> None:
        sessions = (
            "select count(*) filter (where backend_type = 'client backend'), "
            "count(*) filter (where backend_type = 'parallel worker') from pg_stat_activity "
            f"where datname = '{database}' and query like '%NaN%' "
            "and coalesce(leader_pid, pid) <> pg_backend_pid()"
        )
        while not done.is_set():
            probes, workers = pg_rows(postgres_url, sessions)[0]
            seen["probe"] += probes
            seen["workers"] += workers
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    source = '[sources.pg]\nconnection = "pg"\ntables = ["spread"]\ntransport = "native"\n'
    root = project(project_dir, postgres_url, source)
    try:
        assert run(load_project(root)).status == "success"  # it waited for the probe: zeros
    finally:
        done.set()
        watcher.join()
    assert seen["probe"] > 0, "the watcher never saw the probe"
    assert seen["workers"] == 0
