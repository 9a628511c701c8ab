"""web sessions table (shared by several uvicorn workers) and board-fingerprint indexes

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _indexes(table: str) -> set[str]:
    return {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes(table) if ix["name"]}


def upgrade() -> None:
    # Checks before each step: a database touched by hand (or a half-applied run on SQLite, which
    # has no transactional DDL for every statement) must still reach the head with `db upgrade`.
    if not sa.inspect(op.get_bind()).has_table("sessions"):
        op.create_table(
            "sessions",
            sa.Column("id_hash", sa.String(length=64), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("csrf_token", sa.String(length=100), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("last_seen_at", sa.DateTime(), nullable=False),
            sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id_hash"),
        )
    existing = _indexes("sessions")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        if "ix_sessions_user" not in existing:
            batch_op.create_index("ix_sessions_user", ["user_id"], unique=False)
        if "ix_sessions_last_seen" not in existing:
            batch_op.create_index("ix_sessions_last_seen", ["last_seen_at"], unique=False)
    existing = _indexes("issues")
    with op.batch_alter_table("issues", schema=None) as batch_op:
        if "ix_issues_updated_at" not in existing:
            batch_op.create_index("ix_issues_updated_at", ["updated_at"], unique=False)
        if "ix_issues_acknowledged_at" not in existing:
            batch_op.create_index("ix_issues_acknowledged_at", ["acknowledged_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.drop_index("ix_issues_acknowledged_at")
        batch_op.drop_index("ix_issues_updated_at")
    op.drop_table("sessions")
