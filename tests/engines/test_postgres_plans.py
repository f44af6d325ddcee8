"""Statements a PostgreSQL warehouse runs again and again while tables are replaced."""

from __future__ import annotations

from headwater.engines import open_engine


def test_a_table_replaced_by_another_connection_is_read_with_its_new_type(
    postgres_url: str,
) -> None:
    """A warehouse's threads each hold a connection, and one replaces tables under
    statements another runs again and again (a load's state lookups, a check's count): no
    connection may keep a prepared plan of the old table (PostgreSQL: "cached plan must not
    change result type")."""
    reader, writer = open_engine("postgres", postgres_url), open_engine("postgres", postgres_url)
    try:
        writer.ensure_schemas({"raw"})
        writer.cursor().execute("create table raw.t as select 1 as x")
        cur = reader.cursor()
        for _ in range(6):  # psycopg prepares a statement on its 5th run by default
            assert cur.execute("select * from raw.t where 1 = ?", [1]).fetchall() == [(1,)]
        writer.cursor().execute("drop table raw.t")
        writer.cursor().execute("create table raw.t as select 'a' as x")
        assert cur.execute("select * from raw.t where 1 = ?", [1]).fetchall() == [("a",)]
    finally:
        reader.close()
        writer.close()
