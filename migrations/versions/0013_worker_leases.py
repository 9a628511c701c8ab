"""worker_leases: job_runs.next_due_at and runs, deliveries.lease_owner, for `oki-monitor worker`

Revision ID: 0013_worker_leases
Revises: 0012_regions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_worker_leases"
down_revision = "0012_regions"
branch_labels = None
depends_on = None


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    # Re-runnable, like the earlier revisions: each step checks what is already there.
    jobs = _columns("job_runs")
    if "next_due_at" not in jobs:
        op.add_column("job_runs", sa.Column("next_due_at", sa.DateTime(), nullable=True))
    if "runs" not in jobs:
        op.add_column("job_runs", sa.Column("runs", sa.Integer(), nullable=False, server_default="0"))
    if "lease_owner" not in _columns("deliveries"):
        op.add_column("deliveries", sa.Column("lease_owner", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("lease_owner")
    with op.batch_alter_table("job_runs") as batch:
        batch.drop_column("runs")
        batch.drop_column("next_due_at")
