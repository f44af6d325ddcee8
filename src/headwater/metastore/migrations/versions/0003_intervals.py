"""The ledger of scheduled data intervals: one row per (pipeline, interval_start).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intervals",
        sa.Column("pipeline", sa.String(200), nullable=False),
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("interval_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.UniqueConstraint(
            "pipeline", "interval_start", name="uq_intervals_pipeline_interval_start"
        ),
    )
    op.create_index("ix_intervals_pipeline_status", "intervals", ["pipeline", "status"])


def downgrade() -> None:
    op.drop_index("ix_intervals_pipeline_status", table_name="intervals")
    op.drop_table("intervals")
