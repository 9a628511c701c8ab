"""model_runs (scheduled retrain: scores and why it promoted or refused) and the triage index on labels

Revision ID: 0008_model_runs
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_model_runs"
down_revision = "0007_rejects"
branch_labels = None
depends_on = None


def _indexes(table: str) -> set[str]:
    return {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes(table) if ix["name"]}


def upgrade() -> None:
    # Re-runnable, like 0002-0004: each step checks what is already there.
    if not sa.inspect(op.get_bind()).has_table("model_runs"):
        op.create_table(
            "model_runs",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("started_at", sa.DateTime(), nullable=False),
            sa.Column("finished_at", sa.DateTime(), nullable=True),
            sa.Column("trigger", sa.String(length=20), nullable=False),
            sa.Column("status", sa.String(length=20), nullable=False),
            sa.Column("current_version", sa.String(length=80), nullable=True),
            sa.Column("candidate_version", sa.String(length=80), nullable=True),
            sa.Column("corrections", sa.Integer(), nullable=False),
            sa.Column("corrections_dropped", sa.Integer(), nullable=False),
            sa.Column("tolerance", sa.Float(), nullable=False),
            sa.Column("current_scores", sa.JSON(), nullable=False),
            sa.Column("candidate_scores", sa.JSON(), nullable=False),
            sa.Column("reasons", sa.JSON(), nullable=False),
            sa.Column("fingerprint", sa.String(length=64), nullable=True),
            sa.Column("model_path", sa.Text(), nullable=True),
            sa.Column("seconds", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    if "ix_model_runs_started" not in _indexes("model_runs"):
        op.create_index("ix_model_runs_started", "model_runs", ["started_at"])
    if "ix_labels_triage" not in _indexes("labels"):
        op.create_index("ix_labels_triage", "labels", ["needs_triage", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_labels_triage", table_name="labels")
    op.drop_index("ix_model_runs_started", table_name="model_runs")
    op.drop_table("model_runs")
