"""login_throttle: failed login attempts per account and per address, shared by every web worker

Revision ID: 0009_login_throttle
Revises: 0008_model_runs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_login_throttle"
down_revision = "0008_model_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Re-runnable, like the earlier revisions: each step checks what is already there.
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("login_throttle"):
        op.create_table(
            "login_throttle",
            sa.Column("key", sa.String(length=120), nullable=False),
            sa.Column("failures", sa.Integer(), nullable=False),
            sa.Column("last_failure_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )
    indexes = {ix["name"] for ix in sa.inspect(bind).get_indexes("login_throttle")}
    if "ix_login_throttle_last" not in indexes:
        op.create_index("ix_login_throttle_last", "login_throttle", ["last_failure_at"])


def downgrade() -> None:
    op.drop_index("ix_login_throttle_last", table_name="login_throttle")
    op.drop_table("login_throttle")
