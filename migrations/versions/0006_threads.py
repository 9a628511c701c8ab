"""alert_threads: one message thread per issue and recipient

Updates about an issue reply to the first message a recipient got (Telegram
``reply_parameters``, e-mail In-Reply-To/References) under the subject fixed at that first
message, and the growth chart is re-sent only when its data changed. The first message's id,
the subject and the last chart's hash are kept here.

Revision ID: 0006_threads
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_threads"
down_revision = "0005_incident"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Re-runnable, like 0002-0004.
    if "alert_threads" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "alert_threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("recipient", sa.String(length=300), nullable=False),
        sa.Column("receiver", sa.String(length=100), nullable=False),
        sa.Column("first_alert_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("chart_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["first_alert_id"], ["alerts.id"]),
        sa.ForeignKeyConstraint(["issue_id"], ["issues.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issue_id", "channel", "recipient", name="uq_alert_threads"),
    )


def downgrade() -> None:
    op.drop_table("alert_threads")
