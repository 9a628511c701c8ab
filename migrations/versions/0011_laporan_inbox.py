"""laporan_inbox: messages forwarded to the monitor's bot, from acceptance to the reply

Revision ID: 0011_laporan_inbox
Revises: 0010_issue_responses
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_laporan_inbox"
down_revision = "0010_issue_responses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("laporan_inbox"):
        return
    op.create_table(
        "laporan_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("message_key", sa.String(length=200), nullable=False),
        sa.Column("sender_key", sa.String(length=100), nullable=True),
        sa.Column("reply_to", sa.String(length=100), nullable=True),
        sa.Column("reply_ref", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("issue_id", sa.Integer(), sa.ForeignKey("issues.id", ondelete="SET NULL"), nullable=True),
        sa.Column("reply_status", sa.String(length=20), nullable=False),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("reply_attempts", sa.Integer(), nullable=False),
        sa.Column("reply_next_at", sa.DateTime(), nullable=True),
        sa.Column("replied_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "message_key", name="uq_laporan_inbox_message"),
    )
    op.create_index("ix_laporan_inbox_sender", "laporan_inbox", ["sender_key", "received_at"])
    op.create_index("ix_laporan_inbox_reply", "laporan_inbox", ["reply_status", "reply_next_at"])


def downgrade() -> None:
    op.drop_index("ix_laporan_inbox_reply", table_name="laporan_inbox")
    op.drop_index("ix_laporan_inbox_sender", table_name="laporan_inbox")
    op.drop_table("laporan_inbox")
