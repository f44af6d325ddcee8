"""PostgreSQL over its unix socket (``?host=/folder&port=N``, libpq's form), on both
transports; a failure names the socket, not a made-up ``localhost``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from test_postgres_helpers import orders_project, pg

from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import query_warehouse as warehouse
from headwater.testing.servers import PostgresServer, postgres_available

pytestmark = pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not installed")


def socket_url(server: PostgresServer, database: str, port: int) -> str:
    folder = quote(str(server.socket_dir), safe="")
    return f"postgresql://{server.user}@/{database}?host={folder}&port={port}"


@pytest.mark.parametrize("transport", ["arrow", "native"])
def test_loads_through_the_unix_socket(
    postgres_server: PostgresServer, postgres_url: str, tmp_path: Path, transport: str
) -> None:
    pg(
        postgres_url,
        "create table orders (id int primary key, amount numeric(9,2))",
        "insert into orders values (1, 1.50), (2, 0)",
    )
    database = urlsplit(postgres_url).path.lstrip("/")
    # no password: the socket trusts local users, so only the socket can have let it in
    root = orders_project(
        tmp_path / "p", socket_url(postgres_server, database, postgres_server.port), transport
    )
    result = run(load_project(root))
    assert result.status == "success", result.steps["raw.pg_orders"].error
    assert warehouse(root, "select id, amount from raw.pg_orders order by id") == [
        (1, Decimal("1.50")),
        (2, Decimal("0.00")),
    ]


def test_a_wrong_socket_port_names_the_socket(
    postgres_server: PostgresServer, postgres_url: str, tmp_path: Path
) -> None:
    database = urlsplit(postgres_url).path.lstrip("/")
    wrong = postgres_server.port + 1
    root = orders_project(tmp_path / "p", socket_url(postgres_server, database, wrong), "auto")
    result = run(load_project(root))
    error = result.steps["raw.pg_orders"].error or ""
    assert result.status == "failed"
    assert f"({postgres_server.socket_dir}:{wrong}/{database})" in error
    assert "localhost" not in error
