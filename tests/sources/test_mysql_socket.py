"""MySQL/MariaDB over the server's unix socket (``?socket=/path/mysqld.sock``): the metadata
session and the extract both use it, and a failure names the socket, not a host."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from test_mysql_helpers import execute, project_toml, warehouse, write_and_run

from headwater.errors import ConnectionError_
from headwater.sources.mysql import MySQLConnector
from headwater.testing.servers import MariaDBServer, free_port, mariadb_available

pytestmark = pytest.mark.skipif(not mariadb_available(), reason="MariaDB is not installed")


def socket_url(server: MariaDBServer, database: str, socket: Path, **params: str) -> str:
    """A URL whose host and port lead nowhere: only the socket can connect it."""
    user, password = quote(server.user, safe=""), quote(server.password, safe="")
    query = "".join(f"&{k.replace('_', '-')}={v}" for k, v in params.items())
    return (
        f"mysql://{user}:{password}@127.0.0.1:{free_port()}/{database}"
        f"?socket={quote(str(socket), safe='')}{query}"
    )


def test_loads_a_table_and_a_query_through_the_socket(
    mariadb_server: MariaDBServer, mariadb_url: str, tmp_path: Path
) -> None:
    execute(
        mariadb_url,
        "create table t (id int primary key, name varchar(10))",
        "insert into t values (1, 'a'), (2, 'b')",
    )
    database = urlsplit(mariadb_url).path.lstrip("/")
    url = socket_url(mariadb_server, database, mariadb_server.socket_path)
    root = tmp_path / "table"
    result = write_and_run(root, project_toml(url, 'tables = ["t"]'))
    assert result.status == "success", next(iter(result.steps.values())).error
    assert warehouse(root, "select id, name from raw.my_t order by id") == [(1, "a"), (2, "b")]

    # The server resolves no host names, so a login over TCP is never 'user@localhost':
    # the rows themselves say that the extract (connectorx, in its own process) came
    # through the socket too.
    root = tmp_path / "query"
    query = 'query = "select current_user() as who, count(*) as n from t"'
    result = write_and_run(root, project_toml(url, query))
    assert result.status == "success", next(iter(result.steps.values())).error
    assert warehouse(root, "select who, n from raw.my") == [(f"{mariadb_server.user}@localhost", 2)]


def test_a_missing_socket_names_the_socket(
    mariadb_server: MariaDBServer, mariadb_url: str, tmp_path: Path
) -> None:
    database = urlsplit(mariadb_url).path.lstrip("/")
    missing = tmp_path / "nowhere" / "mysqld.sock"
    with pytest.raises(ConnectionError_) as caught:
        MySQLConnector(socket_url(mariadb_server, database, missing), name="my")
    message = str(caught.value)
    assert f"(unix socket {missing}/{database})" in message, message
    assert "127.0.0.1" not in message and mariadb_server.password not in message
    assert caught.value.transient  # the server may be starting: retried like a refused port


def test_tls_modes_that_need_a_network_are_refused_on_a_socket(
    mariadb_server: MariaDBServer,
) -> None:
    url = socket_url(mariadb_server, "headwater", mariadb_server.socket_path, ssl_mode="required")
    with pytest.raises(ConnectionError_, match="ssl-mode=required does not apply to a unix"):
        MySQLConnector(url, name="my")
