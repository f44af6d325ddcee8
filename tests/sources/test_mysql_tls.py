"""MariaDB over TLS: a server that refuses unencrypted TCP (``require_secure_transport``),
read with the certificate verified (``ssl-mode=verify_identity``) on both of a read's
sessions (PyMySQL for metadata, connectorx for the rows)."""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from test_mysql_helpers import (
    connect,
    no_query_like,
    project_toml,
    raw_tables,
    warehouse,
    write_and_run,
)

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
        ("ssl-cert=/c.pem", "ssl-cert and ssl-key go together"),
        ("ssl-mode=disabled&ssl-cert=/c.pem&ssl-key=/c.key", "a client certificate needs TLS"),
        ("ssl-cert=/nonexistent/c.pem&ssl-key=/c.key", "ssl-cert '/nonexistent/c.pem'"),
        ("sslmode=required", "unknown URL parameter 'sslmode' \\(did you mean 'ssl-mode'"),
    ],
)
def test_bad_tls_settings_are_named(mariadb_url: str, query: str, message: str) -> None:
    with pytest.raises(ConnectionError_, match=message) as caught:
        MySQLConnector(f"{mariadb_url}?{query}", name="my")
    assert "connection 'my'" in str(caught.value)


# --- client certificates: an account that REQUIRE X509 ------------------------------------

CERT_PASSWORD = "Cert-only-7q"
TYPES_DDL = """
create table kinds (
  id int primary key, flag tinyint(1), big bigint unsigned, small smallint,
  price decimal(9,2), wide decimal(40,10), ratio float, score double,
  day date, moment datetime(6), stamp timestamp(6) null, span time(6),
  name varchar(20), data blob, doc json, size enum('s','m','l')
)
"""
TYPES_ROWS = (
    "insert into kinds values "
    "(1, 1, 18446744073709551615, -32768, 1234567.89, 123456789012345678901234567890.1234567890,"
    " 0.5, 0.1, '2026-11-21', '2026-11-21 10:30:00.123456', '2026-11-21 10:30:00.5',"
    " '23:59:59.999999', 'zoë', x'00ff', '{\"a\": [1, 2]}', 'm'),"
    "(2, 0, 0, 7, -0.01, 0, -1.25, 1e300, '0001-01-01', '9999-12-31 23:59:59', null,"
    " '00:00:00', '', x'', 'null', 's'),"
    "(3, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null)"
)


@pytest.fixture(scope="module")
def client_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("client-cert")
    return self_signed_certificate(folder, "client"), folder / "client.key"


@pytest.fixture(scope="module")
def x509_server(
    tmp_path_factory: pytest.TempPathFactory, client_certificate: tuple[Path, Path]
) -> Iterator[MariaDBServer]:
    with MariaDBServer(
        tmp_path_factory.mktemp("maria-x509"), tls=True, client_ca=client_certificate[0]
    ) as server:
        url = server.create_database("shop")
        con = connect(url, ssl=ssl.create_default_context(cafile=str(server.certificate)))
        try:
            with con.cursor() as cur:
                cur.execute("set session sql_mode = ''")
                cur.execute(TYPES_DDL)
                cur.execute(TYPES_ROWS)
                cur.execute(
                    f"create user certonly@'%' identified by '{CERT_PASSWORD}' require x509"
                )
                cur.execute("grant select on shop.* to certonly@'%'")
        finally:
            con.close()
        yield server


def test_a_client_certificate_reads_every_type_as_connectorx_does(
    x509_server: MariaDBServer, client_certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    """The rows of an account that requires a client certificate come through PyMySQL; the
    warehouse gets the same types and values as connectorx's read of the same table."""
    cert, key = client_certificate
    ca = f"ssl-ca={x509_server.certificate}"
    base = f"127.0.0.1:{x509_server.port}/shop"
    with_cert = f"mysql://certonly:{CERT_PASSWORD}@{base}?{ca}&ssl-cert={cert}&ssl-key={key}"
    plain = f"mysql://{x509_server.user}:{x509_server.password}@{base}?{ca}"
    tables = {}
    for name, url in (("cert", with_cert), ("cx", plain)):
        root = tmp_path / name
        result = write_and_run(root, project_toml(url, 'tables = ["kinds"]'))
        assert result.status == "success", next(iter(result.steps.values())).error
        columns = "select column_name, data_type from information_schema.columns "
        types = warehouse(root, columns + "where table_name = 'my_kinds' order by 1")
        rows = warehouse(
            root, "select * exclude (_hw_load_id, _hw_loaded_at) from raw.my_kinds order by id"
        )
        tables[name] = (types, rows)
    assert tables["cert"] == tables["cx"]
    types, rows = tables["cert"]
    declared = dict(types)
    assert (declared["big"], declared["wide"], declared["stamp"], declared["span"]) == (
        "UBIGINT",
        "VARCHAR",  # wider than DuckDB's DECIMAL: exact text
        "TIMESTAMP WITH TIME ZONE",
        "TIME",
    )
    assert rows[0][1:6] == (
        True,
        2**64 - 1,
        -32768,
        Decimal("1234567.89"),
        "123456789012345678901234567890.1234567890",
    )
    assert rows[0][11:] == (dt.time(23, 59, 59, 999999), "zoë", b"\x00\xff", '{"a": [1, 2]}', "m")
    assert (rows[1][7], rows[1][8]) == (1e300, dt.date(1, 1, 1))
    assert rows[2][1:] == (None,) * 15


def test_an_account_that_requires_a_certificate_refuses_a_read_without_one(
    x509_server: MariaDBServer, tmp_path: Path
) -> None:
    url = f"mysql://certonly:{CERT_PASSWORD}@127.0.0.1:{x509_server.port}/shop?ssl-mode=required"
    result = write_and_run(tmp_path / "p", project_toml(url, 'tables = ["kinds"]'))
    step = next(iter(result.steps.values()))
    assert result.status == "failed"
    error = step.error or ""
    assert error.startswith(f"connection 'my' (127.0.0.1:{x509_server.port}/shop)"), error
    assert "access denied" in error.lower() and CERT_PASSWORD not in error


def test_step_timeout_stops_a_certificate_read_on_the_server(
    x509_server: MariaDBServer, client_certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    """The PyMySQL extract stops at the step's timeout as connectorx's does: the step
    ends soon after it, nothing is written, no query of it is left on the server."""
    admin = x509_server.create_database("shop")
    tls = {"ssl": ssl.create_default_context(cafile=str(x509_server.certificate))}
    con = connect(admin, **tls)
    try:
        with con.cursor() as cur:
            cur.execute("create table crawl_data (id bigint primary key, v varchar(40))")
            cur.execute("insert into crawl_data select seq, md5(seq) from seq_1_to_40000")
            cur.execute(  # 400 pauses of 50 ms: 20 s uninterrupted
                "create view crawl as select id, v from crawl_data where "
                "(case when id % 100 = 0 then sleep(0.05) else 0 end) = 0"
            )
    finally:
        con.close()
    cert, key = client_certificate
    url = (
        f"mysql://certonly:{CERT_PASSWORD}@127.0.0.1:{x509_server.port}/shop?ssl-ca={x509_server.certificate}"
        f"&ssl-cert={cert}&ssl-key={key}"
    )
    source = 'tables = ["crawl"]\nwrite = "replace"\ntimeout = 1\nretries = 0'
    started = time.monotonic()
    result = write_and_run(tmp_path / "p", project_toml(url, source))
    assert result.steps["raw.my_crawl"].status == "timed_out"
    assert time.monotonic() - started < 10  # not the 20 s the extract needs
    assert raw_tables(tmp_path / "p") == []
    assert no_query_like(admin, "%crawl%", **tls), "the extract's query still runs"
