"""PostgreSQL over TLS: a server that refuses unencrypted connections (``hostssl`` only),
read on both transports with the certificate verified (``sslmode=verify-full``)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from test_postgres_helpers import orders_project, pg

from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import query_warehouse as warehouse
from headwater.testing.servers import PostgresServer, postgres_available, self_signed_certificate

pytestmark = pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not installed")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    with PostgresServer(tmp_path_factory.mktemp("pg-tls"), tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def tls_url(tls_server: PostgresServer) -> str:
    url = tls_server.create_database("shop")
    pg(
        url + "?sslmode=require",
        "create table if not exists orders (id int primary key, v text, amount numeric(9,2))",
        "insert into orders values (1, 'a', 1.50), (2, 'b', 0) on conflict do nothing",
    )
    return url


@pytest.mark.parametrize("transport", ["arrow", "native"])
def test_loads_over_verified_tls(
    tls_server: PostgresServer, tls_url: str, tmp_path: Path, transport: str
) -> None:
    url = f"{tls_url}?sslmode=verify-full&sslrootcert={tls_server.certificate}"
    root = orders_project(tmp_path / "p", url, transport)
    result = run(load_project(root))
    step = result.steps["raw.pg_orders"]
    assert result.status == "success", step.error
    assert warehouse(root, "select id, v, amount from raw.pg_orders order by id") == [
        (1, "a", Decimal("1.50")),
        (2, "b", Decimal("0.00")),
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sslmode=disable", "no encryption"),  # the server takes TLS only
        ("sslmode=verify-full&sslrootcert={wrong}", "certificate verify failed"),
    ],
)
def test_tls_failures_name_the_connection_and_are_not_retried(
    tls_server: PostgresServer, tls_url: str, tmp_path: Path, query: str, message: str
) -> None:
    wrong = self_signed_certificate(tmp_path, "other")  # not the server's
    url = f"{tls_url}?{query.format(wrong=wrong)}"
    root = orders_project(tmp_path / "p", url, "auto")
    result = run(load_project(root))
    step = result.steps["raw.pg_orders"]
    assert result.status == "failed"
    error = step.error or ""
    assert error.startswith(f"connection 'pg' ({tls_server.host}:{tls_server.port}/shop)"), error
    assert message in error, error
    assert tls_server.password not in error
    assert step.attempts == 1  # retrying cannot help
