"""Which data intervals of each partitioned model are built or failed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "asset_partitions",
        sa.Column("asset", sa.String(400), nullable=False),
        sa.Column("partition_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("partition_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "asset", "partition_start", name="uq_asset_partitions_asset_partition_start"
        ),
    )


def downgrade() -> None:
    op.drop_table("asset_partitions")
