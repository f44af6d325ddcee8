"""An index on step_runs (step, status, finished_at): an asset's last successful build is
one index lookup, not a scan of every step row (the web UI's overview; 10,000 runs of a
100-step pipeline: 1.7 s -> milliseconds).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_step_runs_step_status_finished_at", "step_runs", ["step", "status", "finished_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_step_runs_step_status_finished_at", table_name="step_runs")
