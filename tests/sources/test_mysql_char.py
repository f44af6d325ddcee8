"""MySQL/MariaDB ``CHAR(n)`` keys mean in the warehouse what they mean in the server.

MySQL drops a CHAR value's trailing blanks when it returns it, unless the server's sql_mode
has PAD_CHAR_TO_FULL_LENGTH (MariaDB keeps that mode; MySQL deprecated it); its comparisons
ignore them either way. Headwater loads the trimmed value by default, whatever the mode, so
``where code = 'GERMANY'`` and joins of such keys find in the warehouse what they find in
MariaDB; ``char_padding = "keep"`` pads every value to n, as PAD_CHAR_TO_FULL_LENGTH does.
Read by connectorx and, with a client certificate, by PyMySQL (the same SELECT).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_mysql_helpers import connect, project_toml, warehouse, write_and_run

from headwater.testing.servers import MariaDBServer, mariadb_available, self_signed_certificate

pytestmark = pytest.mark.skipif(not mariadb_available(), reason="MariaDB is not installed")

# customer.nation is latin1: its metadata length (bytes in the session's utf8mb4) is not n.
# No VARCHAR value differs from a key only by case or trailing blanks: MariaDB's default
# collation ignores both, for VARCHAR too, and the warehouse compares VARCHARs exactly.
SETUP = (
    "create table nation (code char(10) primary key, name varchar(20)) default charset utf8mb4",
    "insert into nation values ('GERMANY', 'Germany'), ('FRANCE', 'France'), ('PERU', 'Peru'),"
    " (' CHAD', 'Chad'), ('NEWZEALAND', 'New Zealand'), ('', 'Nowhere')",
    "create table customer (id int primary key, nation char(10) character set latin1,"
    " nation_v varchar(12)) default charset utf8mb4",
    "insert into customer values (1, 'GERMANY', 'GERMANY'), (2, 'FRANCE  ', 'FRANCE'),"
    " (3, 'CHAD', ' CHAD'), (4, 'NEWZEALAND', 'NEWZEALAND'), (5, null, 'PERU'),"
    " (6, 'GERMANY', 'PERU'), (7, '   ', '')",
)

# the same questions, asked of MariaDB ({n} nation, {c} customer) and of the warehouse
QUESTIONS = [
    "select name from {n} where code = 'GERMANY'",
    "select count(*) from {n} where code = 'NEWZEALAND'",
    "select c.id, n.name from {c} c join {n} n on n.code = c.nation order by c.id",
    "select c.id, n.name from {c} c join {n} n on n.code = c.nation_v order by c.id",
    "select c.id from {c} c join {c} d on d.nation = c.nation where d.id = 1 order by c.id",
]
PAD_MODE = "PAD_CHAR_TO_FULL_LENGTH"


def _source(url: str, **tls: Any) -> list[list[tuple[Any, ...]]]:
    """Create the tables; MariaDB's answers to QUESTIONS."""
    con = connect(url, **tls)
    try:
        with con.cursor() as cur:
            for sql in SETUP:
                cur.execute(sql)
            answers = []
            for question in QUESTIONS:
                cur.execute(question.format(n="nation", c="customer"))
                answers.append([tuple(row) for row in cur.fetchall()])
    finally:
        con.close()
    assert all(answers), answers  # every question has an answer to match
    return answers


def _answers(root: Path, nation: str, customer: str) -> list[list[tuple[Any, ...]]]:
    return [warehouse(root, q.format(n=nation, c=customer)) for q in QUESTIONS]


def _run(root: Path, toml: str) -> None:
    result = write_and_run(root, toml)
    errors = {name: step.error for name, step in result.steps.items() if step.error}
    assert result.status == "success", errors


def _values(root: Path, table: str, column: str) -> list[str]:
    rows = warehouse(root, f"select {column} from {table} where {column} is not null")
    return sorted(v for (v,) in rows)


NATION_PADDED = sorted(
    c.ljust(10) for c in ("GERMANY", "FRANCE", "PERU", " CHAD", "NEWZEALAND", "")
)
CUSTOMER_PADDED = sorted(
    c.ljust(10) for c in ("GERMANY", "FRANCE", "CHAD", "NEWZEALAND", "GERMANY", "")
)


def test_char_keys_compare_as_in_mariadb_and_keep_pads_them(
    mariadb_url: str, tmp_path: Path
) -> None:
    """By default the keys answer as in MariaDB; ``keep`` (per source, per table, for a
    query) pads each value to its column's n characters."""
    answers = _source(mariadb_url)
    toml = project_toml(mariadb_url, 'tables = ["nation", "customer"]') + (
        '\n[sources.kept]\nconnection = "my"\ntables = ["nation", "customer"]\n'
        'char_padding = "keep"\n'
        '[sources.kept.table_options.customer]\nchar_padding = "trim"\n'
        '\n[sources.kept_query]\nconnection = "my"\nchar_padding = "keep"\n'
        'query = "select id, nation from customer"\n'
    )
    root = tmp_path / "p"
    _run(root, toml)
    assert _answers(root, "raw.my_nation", "raw.my_customer") == answers
    assert _values(root, "raw.kept_nation", "code") == NATION_PADDED
    assert _values(root, "raw.kept_query", "nation") == CUSTOMER_PADDED
    assert _values(root, "raw.kept_customer", "nation") == sorted(
        c.rstrip() for c in CUSTOMER_PADDED
    )


@pytest.fixture
def server_pads_char(mariadb_server: MariaDBServer, mariadb_url: str) -> Iterator[str]:
    """``mariadb_url``, its server's sql_mode with PAD_CHAR_TO_FULL_LENGTH for the test."""
    con = connect(mariadb_url)
    try:
        with con.cursor() as cur:
            cur.execute("select @@global.sql_mode")
            (mode,) = cur.fetchone()
            cur.execute(f"set global sql_mode = concat(@@global.sql_mode, ',{PAD_MODE}')")
        yield mariadb_url
    finally:
        with con.cursor() as cur:
            cur.execute("set global sql_mode = %s", (mode,))
        con.close()


def test_char_keys_compare_as_in_mariadb_when_the_server_pads_them(
    server_pads_char: str, tmp_path: Path
) -> None:
    url = server_pads_char
    answers = _source(url)
    con = connect(url)  # the server does pad: a new session gets 'PERU      '
    try:
        with con.cursor() as cur:
            cur.execute("select code from nation where code = 'PERU'")
            assert cur.fetchall() == (("PERU".ljust(10),),)
    finally:
        con.close()
    toml = project_toml(url, 'tables = ["nation", "customer"]') + (
        '\n[sources.kept]\nconnection = "my"\ntables = ["nation"]\nchar_padding = "keep"\n'
    )
    root = tmp_path / "p"
    _run(root, toml)
    assert _answers(root, "raw.my_nation", "raw.my_customer") == answers
    assert _values(root, "raw.kept_nation", "code") == NATION_PADDED


# --- a client certificate: the rows come through PyMySQL ----------------------------------


@pytest.fixture(scope="module")
def x509(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MariaDBServer, str]]:
    """A server whose account ``certonly`` must present a client certificate, and the URL
    that reads the tables of SETUP with it."""
    folder = tmp_path_factory.mktemp("char-cert")
    cert, key = self_signed_certificate(folder, "client"), folder / "client.key"
    with MariaDBServer(tmp_path_factory.mktemp("maria-char"), tls=True, client_ca=cert) as server:
        url = server.create_database("shop")
        con = connect(url, ssl=ssl.create_default_context(cafile=str(server.certificate)))
        try:
            with con.cursor() as cur:
                cur.execute("create user certonly@'%' identified by 'Cert-7q' require x509")
                cur.execute("grant select on shop.* to certonly@'%'")
        finally:
            con.close()
        query = f"ssl-ca={server.certificate}&ssl-cert={cert}&ssl-key={key}"
        yield server, f"mysql://certonly:Cert-7q@127.0.0.1:{server.port}/shop?{query}"


def test_char_keys_read_with_a_client_certificate(
    x509: tuple[MariaDBServer, str], tmp_path: Path
) -> None:
    server, url = x509
    answers = _source(
        server.url_for("shop"), ssl=ssl.create_default_context(cafile=str(server.certificate))
    )
    toml = project_toml(url, 'tables = ["nation", "customer"]') + (
        '\n[sources.kept]\nconnection = "my"\ntables = ["nation"]\nchar_padding = "keep"\n'
    )
    root = tmp_path / "p"
    _run(root, toml)
    assert _answers(root, "raw.my_nation", "raw.my_customer") == answers
    assert _values(root, "raw.kept_nation", "code") == NATION_PADDED
