"""Initial metastore schema: runs, step_runs, attempts, watermarks.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

The schema is written out here (not imported from ``tables.py``) so this revision keeps
creating exactly this schema when ``tables.py`` moves on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("pipeline", sa.String(200), nullable=True),
        sa.Column("selection", sa.Text(), nullable=True),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("parent_run_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        _ts("started_at", False),
        _ts("finished_at", True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("hostname", sa.String(255), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_runs"),
    )
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    op.create_index("ix_runs_status", "runs", ["status"])

    op.create_table(
        "step_runs",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("step", sa.String(400), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _ts("started_at", True),
        _ts("finished_at", True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("rows_in", sa.BigInteger(), nullable=True),
        sa.Column("rows_out", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("log_path", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "step", name="pk_step_runs"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_step_runs_run_id_runs"),
    )

    op.create_table(
        "attempts",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("step", sa.String(400), nullable=False),
        sa.Column("attempt", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _ts("started_at", False),
        _ts("finished_at", True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "step", "attempt", name="pk_attempts"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_attempts_run_id_runs"),
    )

    op.create_table(
        "watermarks",
        sa.Column("asset", sa.String(400), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        _ts("updated_at", False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("asset", name="pk_watermarks"),
    )


def downgrade() -> None:
    op.drop_table("watermarks")
    op.drop_table("attempts")
    op.drop_table("step_runs")
    op.drop_index("ix_runs_status", table_name="runs")
    op.drop_index("ix_runs_started_at", table_name="runs")
    op.drop_table("runs")
