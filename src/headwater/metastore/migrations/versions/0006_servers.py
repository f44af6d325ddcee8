"""Several servers on one metastore: the servers table (heartbeats) and runs.claimed_by.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "servers",
        sa.Column("server_id", sa.String(64), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("server_id", name="pk_servers"),
    )
    # a nullable column: a plain ALTER TABLE ADD COLUMN on SQLite too (no batch rebuild)
    op.add_column("runs", sa.Column("claimed_by", sa.String(64), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # foreign keys point at runs: rebuilt below
        op.execute("PRAGMA defer_foreign_keys = ON")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("claimed_by")
    op.drop_table("servers")
