"""A `${ENV}` password holding URL delimiters (@ / : # % ? and a space) placed in a
connection URL stays the password: the load succeeds against the real servers, through each
of their drivers, and a failing connection (wrong host, wrong database) shows no fragment of
it on the console, in any log file or in the metastore."""

from __future__ import annotations

import re
import socket
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
import pymysql
import pytest

from headwater.testing.cli import invoke, query_warehouse

PASSWORD = "Zq9v@Kx7w/Mp4t:Rb8n#Lc7%?Yj2 hQw3"
# what a URL split at the password's delimiters would show as a host, database or user
FRAGMENTS = [f for f in re.split(r"[@/:#%? ]", PASSWORD) if len(f) >= 3]


@pytest.fixture
def secret(monkeypatch) -> str:
    monkeypatch.setenv("HW_TEST_DB_PASSWORD", PASSWORD)
    return "${HW_TEST_DB_PASSWORD}"


def _closed_port() -> int:
    with socket.socket() as s:  # bound then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pg_user(postgres_server, postgres_url) -> tuple[str, int, str]:
    """A login role whose password is PASSWORD, owning a table ``orders``: (user, port, db)."""
    user = f"u_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f"create role {user} login password '{PASSWORD}'")
        con.execute("create table orders (id int primary key, amount numeric(10, 2))")
        con.execute("insert into orders values (1, 9.50), (2, 12.25), (3, 0.75)")
        con.execute(f"grant select on orders to {user}")
    return user, postgres_server.port, urlsplit(postgres_url).path.lstrip("/")


@pytest.fixture
def mysql_user(mariadb_server, mariadb_url) -> tuple[str, int, str]:
    """An account whose password is PASSWORD, with a table ``orders``: (user, port, db)."""
    user = f"u_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(mariadb_url)
    database = unquote(parts.path.lstrip("/"))
    con = pymysql.connect(
        host=parts.hostname,
        port=parts.port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=database,
        autocommit=True,
    )
    try:
        with con.cursor() as cur:
            cur.execute("create table orders (id int primary key, amount decimal(10, 2))")
            cur.execute("insert into orders values (1, 9.50), (2, 12.25), (3, 0.75)")
            for host in ("%", "localhost"):
                at = host.replace("%", "%%")  # pymysql formats the statement with %
                cur.execute(f"create user '{user}'@'{at}' identified by %s", (PASSWORD,))
                cur.execute(f"grant all privileges on `{database}`.* to '{user}'@'{host}'")
    finally:
        con.close()
    return user, mariadb_server.port, database


def _project(project_dir, url: str, transport: str | None = None) -> Path:
    extra = f'transport = "{transport}"\n' if transport else ""
    return project_dir(
        {
            "headwater.toml": f'[connections.db]\nurl = "{url}"\n\n'
            f'[sources.shop]\nconnection = "db"\ntables = ["orders"]\n{extra}'
        }
    )


def _assert_no_fragment(root: Path, console: str) -> None:
    """No fragment of the password in the console output, any log file, the metastore."""
    places = {"console": console.encode()}
    places |= {str(p): p.read_bytes() for p in (root / ".headwater/logs").rglob("*") if p.is_file()}
    places |= {str(p): p.read_bytes() for p in (root / ".headwater").glob("metastore.sqlite*")}
    assert any("metastore" in name for name in places), places.keys()
    for name, data in places.items():
        for fragment in FRAGMENTS:
            assert fragment.encode() not in data, f"{fragment!r} in {name}"


@pytest.mark.parametrize("transport", ["native", "arrow"])
def test_postgres_password_with_delimiters_loads(project_dir, pg_user, secret, transport):
    user, port, db = pg_user
    root = _project(project_dir, f"postgresql://{user}:{secret}@127.0.0.1:{port}/{db}", transport)
    result = invoke("run", "-p", str(root))
    assert result.exit_code == 0, result.output
    rows = query_warehouse(root, "select id, amount from raw.shop_orders order by id")
    assert [r[0] for r in rows] == [1, 2, 3]
    _assert_no_fragment(root, result.output)


def test_mysql_password_with_delimiters_loads(project_dir, mysql_user, secret):
    user, port, db = mysql_user
    root = _project(project_dir, f"mysql://{user}:{secret}@127.0.0.1:{port}/{db}")
    result = invoke("run", "-p", str(root))
    assert result.exit_code == 0, result.output
    rows = query_warehouse(root, "select id, amount from raw.shop_orders order by id")
    assert [r[0] for r in rows] == [1, 2, 3]
    _assert_no_fragment(root, result.output)


@pytest.mark.parametrize("scheme", ["postgresql", "mysql"])
@pytest.mark.parametrize("wrong", ["host", "port", "database"])
def test_a_failing_connection_shows_no_fragment(project_dir, request, secret, scheme, wrong):
    user, port, db = request.getfixturevalue("pg_user" if scheme == "postgresql" else "mysql_user")
    host = "no-such-host.invalid" if wrong == "host" else "127.0.0.1"
    if wrong == "port":
        port = _closed_port()
    if wrong == "database":
        db = "no_such_database"
    root = _project(project_dir, f"{scheme}://{user}:{secret}@{host}:{port}/{db}")
    result = invoke("run", "-p", str(root))
    assert result.exit_code == 5, result.output
    _assert_no_fragment(root, result.output)
    # the error names the connection as it is: the right host and database
    assert f"{host}:{port}/{db}" in result.output, result.output
