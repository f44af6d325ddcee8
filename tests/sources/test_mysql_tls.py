"""MariaDB over TLS: a server that refuses unencrypted TCP (``require_secure_transport``),
read with the certificate verified (``ssl-mode=verify_identity``) on both of a read's
sessions (PyMySQL for metadata, connectorx for the rows)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from test_mysql_helpers import connect, project_toml, warehouse, write_and_run

from headwater.errors import ConnectionError_
from headwater.sources.mysql import MySQLConnector
from headwater.testing.servers import MariaDBServer, mariadb_available, self_signed_certificate

pytestmark = pytest.mark.skipif(not mariadb_available(), reason="MariaDB is not installed")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBServer]:
    with MariaDBServer(tmp_path_factory.mktemp("maria-tls"), tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def tls_url(tls_server: MariaDBServer) -> str:
    url = tls_server.create_database("shop")
    con = connect(url, ssl=ssl.create_default_context(cafile=str(tls_server.certificate)))
    try:
        with con.cursor() as cur:
            cur.execute("create table orders (id int primary key, v text, amount decimal(9,2))")
            cur.execute("insert into orders values (1, 'a', 1.50), (2, 'b', 0)")
        con.commit()
    finally:
        con.close()
    return url


def test_loads_over_verified_tls(tls_server: MariaDBServer, tls_url: str, tmp_path: Path) -> None:
    url = f"{tls_url}?ssl-mode=verify_identity&ssl-ca={tls_server.certificate}"
    root = tmp_path / "p"
    result = write_and_run(root, project_toml(url, 'tables = ["orders"]\nwrite = "replace"'))
    step = next(iter(result.steps.values()))
    assert result.status == "success", step.error
    assert warehouse(root, "select id, v, amount from raw.my_orders order by id") == [
        (1, "a", Decimal("1.50")),
        (2, "b", Decimal("0.00")),
    ]
    con = MySQLConnector(url, name="my")  # the metadata session is encrypted too
    try:
        cur = con._query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        assert cur.fetchone()[1]
    finally:
        con.close()


def test_without_ssl_mode_tls_is_used_when_offered(tls_url: str, tmp_path: Path) -> None:
    """MySQL's clients' default, ``preferred``: this server takes TLS only, so both sessions
    of the read must have used it; test_mysql_* read servers without TLS the same way."""
    root = tmp_path / "p"
    result = write_and_run(root, project_toml(tls_url, 'tables = ["orders"]'))
    assert result.status == "success", next(iter(result.steps.values())).error
    assert warehouse(root, "select count(*) from raw.my_orders") == [(2,)]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("ssl-mode=disabled", "or the server requires tls"),  # it takes TLS only
        ("ssl-mode=verify_ca&ssl-ca={wrong}", "certificate verify failed"),
        ("ssl-mode=verify_identity", "certificate verify failed"),  # not in the system CAs
    ],
)
def test_tls_failures_name_the_connection_and_are_not_retried(
    tls_server: MariaDBServer, tls_url: str, tmp_path: Path, query: str, message: str
) -> None:
    url = f"{tls_url}?{query.format(wrong=self_signed_certificate(tmp_path, 'other'))}"
    result = write_and_run(
        tmp_path / "p", project_toml(url, 'tables = ["orders"]', project="retry_delay = 0.05")
    )
    step = next(iter(result.steps.values()))
    assert result.status == "failed"
    error = step.error or ""
    assert error.startswith(f"connection 'my' ({tls_server.host}:{tls_server.port}/shop)"), error
    assert message in error.lower(), error
    assert "\n" not in error and tls_server.password not in error
    assert step.attempts == 1  # retrying cannot help


def test_required_refuses_a_server_without_tls(mariadb_url: str) -> None:
    with pytest.raises(ConnectionError_, match="ssl-mode=required but the server does not"):
        MySQLConnector(f"{mariadb_url}?ssl-mode=required", name="my")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("ssl-mode=sometimes", "unknown ssl-mode 'sometimes'"),
        ("ssl-mode=required&ssl-ca=/ca.pem", "does not verify the certificate"),
        ("ssl-ca=/nonexistent/ca.pem", "ssl-ca '/nonexistent/ca.pem'"),
        ("sslmode=required", "unknown URL parameter 'sslmode' \\(did you mean 'ssl-mode'"),
    ],
)
def test_bad_tls_settings_are_named(mariadb_url: str, query: str, message: str) -> None:
    with pytest.raises(ConnectionError_, match=message) as caught:
        MySQLConnector(f"{mariadb_url}?{query}", name="my")
    assert "connection 'my'" in str(caught.value)
