"""Check results: one row per (run, asset, check).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "check_results",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("asset", sa.String(400), nullable=False),
        sa.Column("check_name", sa.String(400), nullable=False),
        sa.Column("step", sa.String(400), nullable=False),
        sa.Column("check_type", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failing", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=True),
        sa.Column("quarantined", sa.Integer, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("sample", sa.Text, nullable=True),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_check_results_run_id_runs"),
        sa.PrimaryKeyConstraint("run_id", "asset", "check_name", name="pk_check_results"),
    )
    op.create_index("ix_check_results_asset_at", "check_results", ["asset", "at"])
    op.create_index("ix_check_results_check_name_at", "check_results", ["check_name", "at"])


def downgrade() -> None:
    op.drop_index("ix_check_results_check_name_at", table_name="check_results")
    op.drop_index("ix_check_results_asset_at", table_name="check_results")
    op.drop_table("check_results")
