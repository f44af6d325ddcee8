"""What the two targets share: the table name's parts, what an apply did, and opening the
right target for a connection URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa


@dataclass(frozen=True)
class Applied:
    """What a target reports: rows sent to it for upserting, rows it deleted."""

    sent: int
    deleted: int


class Target(Protocol):
    """A table of an operational database that a sync merges into."""

    def column_types(self) -> dict[str, str]: ...
    def apply(
        self,
        upserts: pa.RecordBatchReader,
        removed: pa.RecordBatchReader | None,
        *,
        key: list[str],
        columns: list[str],
        types: dict[str, str],
    ) -> Applied: ...
    def close(self) -> None: ...


def split_table(name: str, default_schema: str) -> tuple[str, str]:
    """``schema.table`` (or a bare ``table`` in ``default_schema``) as its two parts.

    >>> split_table("public.customer_features", "x")
    ('public', 'customer_features')
    >>> split_table("features", "shop")
    ('shop', 'features')
    """
    schema, dot, table = name.partition(".")
    return (schema, table) if dot else (default_schema, name)


def open_target(url: str, *, connection: str, table: str) -> Any:
    """The :class:`Target` for ``url`` (already interpolated): PostgreSQL or MySQL/MariaDB
    (the loader refused any other scheme). ConnectionError_ when it cannot connect."""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in ("mysql", "mariadb"):
        from headwater.syncs.mysql import MySQLTarget

        return MySQLTarget(url, name=connection, table=table)
    from headwater.syncs.postgres import PostgresTarget

    return PostgresTarget(url, name=connection, table=table)
