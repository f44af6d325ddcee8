"""Alembic environment for the metastore.

Online: ``Metastore`` passes an open connection, already inside a transaction, in
``config.attributes["connection"]``; the migration runs in that transaction, so it commits or
rolls back as a whole (SQLite and PostgreSQL both have transactional DDL).

Offline (``--sql``): the URL comes from the ``sqlalchemy.url`` main option.
"""

from __future__ import annotations

from alembic import context

from headwater.metastore.tables import metadata

config = context.config
target_metadata = metadata


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=bool(url and url.startswith("sqlite")),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "the metastore migrations run through headwater.metastore.Metastore.open(url)"
        )
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
