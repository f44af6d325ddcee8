"""The metastore schema as SQLAlchemy Core tables.

Only portable column types are used (``String``, ``Integer``, ``Text`` and
``DateTime(timezone=True)``), so the same tables work on SQLite and PostgreSQL.

This module describes the *current* schema; the database is created and changed only by the
Alembic revisions in ``migrations/versions`` (a test checks that both agree). When you change a
table here, add a revision there and bump :data:`headwater.metastore.migrations.HEAD_REVISION`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that always hands back timezone-aware UTC datetimes.

    On the way in, an aware datetime is converted to UTC; a naive one is refused (it is
    ambiguous). On the way out, SQLite's naive values are marked UTC and PostgreSQL's values
    (in the session time zone) are converted to UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} given to the metastore; "
                "pass a timezone-aware datetime (e.g. datetime.now(UTC))"
            )
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # defensive: a value written by another tool
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("project", String(200), nullable=False),
    Column("pipeline", String(200), nullable=True),
    Column("selection", Text, nullable=True),
    Column("trigger", String(32), nullable=False),
    Column("parent_run_id", String(64), nullable=True),
    Column("status", String(32), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("pid", Integer, nullable=True),
    Column("hostname", String(255), nullable=True),
    Column("params", Text, nullable=False),
    # the server (servers.server_id) that took this run from the shared queue; NULL: none yet,
    # or not a server's run (revision 0006)
    Column("claimed_by", String(64), nullable=True),
    Index("ix_runs_started_at", "started_at"),
    Index("ix_runs_status", "status"),
)

step_runs = Table(
    "step_runs",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.run_id"), primary_key=True),
    Column("step", String(400), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("rows_in", BigInteger, nullable=True),
    Column("rows_out", BigInteger, nullable=True),
    Column("error", Text, nullable=True),
    Column("log_path", Text, nullable=True),
    # an asset's last successful build, one index lookup (the overview's freshness)
    Index("ix_step_runs_step_status_finished_at", "step", "status", "finished_at"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.run_id"), primary_key=True),
    Column("step", String(400), primary_key=True),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("status", String(32), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("error", Text, nullable=True),
)

watermarks = Table(
    "watermarks",
    metadata,
    Column("asset", String(400), primary_key=True),
    Column("value", Text, nullable=False),
    Column("location", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("run_id", String(64), nullable=False),
)

check_results = Table(
    "check_results",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.run_id"), primary_key=True),
    Column("asset", String(400), primary_key=True),
    Column("check_name", String(400), primary_key=True),
    Column("step", String(400), nullable=False),
    Column("check_type", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # pass | warn | fail | error
    Column("failing", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=True),
    Column("quarantined", Integer, nullable=False),  # 1: the failing rows went to quarantine
    Column("message", Text, nullable=False),
    Column("sample", Text, nullable=True),  # JSON list of rows, at most ~4 KB
    Column("duration_ms", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_check_results_asset_at", "asset", "at"),
    Index("ix_check_results_check_name_at", "check_name", "at"),
)

# The ledger of scheduled data intervals: one row per (pipeline, interval), whose unique key
# makes "enqueued once" hold across threads, processes and servers sharing the metastore.
intervals = Table(
    "intervals",
    metadata,
    Column("pipeline", String(200), nullable=False),
    Column("interval_start", UTCDateTime, nullable=False),
    Column("interval_end", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # queued | running | success | failed | cancelled
    Column("run_id", String(64), nullable=True),
    Column("queued_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False),
    UniqueConstraint("pipeline", "interval_start", name="uq_intervals_pipeline_interval_start"),
    Index("ix_intervals_pipeline_status", "pipeline", "status"),
)

# Which data intervals of each partitioned model are built or failed: one row per grain unit
# (an interval of several units writes one row each), the last build's outcome. A unit with
# no row is missing.
asset_partitions = Table(
    "asset_partitions",
    metadata,
    Column("asset", String(400), nullable=False),
    Column("partition_start", UTCDateTime, nullable=False),
    Column("partition_end", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # built | failed
    Column("run_id", String(64), nullable=False),
    Column("built_at", UTCDateTime, nullable=False),
    UniqueConstraint("asset", "partition_start", name="uq_asset_partitions_asset_partition_start"),
)

# Web UI and API accounts (issue 15). A user's role is viewer | operator | admin; a disabled
# user keeps its row (runs and tokens name it) but can no longer log in or use a token.
users = Table(
    "users",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("password_hash", Text, nullable=False),  # argon2id, never the password
    Column("role", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime, nullable=True),
)

# API tokens for scripts: only the sha256 of a token is stored; the token is shown once.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),  # public handle for list/revoke
    Column("user_name", String(200), ForeignKey("users.name"), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("label", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
)

# Browser sessions: the cookie's value is hashed (sha256) into id_hash, so a copy of the
# metastore does not hold live session cookies.
sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_name", String(200), ForeignKey("users.name"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Index("ix_sessions_expires_at", "expires_at"),
)

# The live servers sharing this metastore (revision 0006): each writes heartbeat_at every few
# seconds (the database's clock); one whose heartbeat is older than the timeout is dead, and
# the leader takes over its claimed runs (headwater.metastore.servers).
servers = Table(
    "servers",
    metadata,
    Column("server_id", String(64), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("url", Text, nullable=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
)
