"""sources: items rejected in the last run, and the latest reason

A bad item is rejected with its reason while the rest of its batch is stored; the operator
sees how many were rejected last run and why on `oki-monitor sources` and the sources page.

Revision ID: 0007_rejects
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_rejects"
down_revision = "0006_threads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Re-runnable, like 0002/0003: SQLite has no transactional DDL for every statement.
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("sources")}
    # Plain ADD COLUMN on both databases (no batch table copy: see downgrade).
    if "rejected_last_run" not in columns:
        op.add_column("sources", sa.Column("rejected_last_run", sa.Integer(), nullable=False, server_default="0"))
    if "last_reject" not in columns:
        op.add_column("sources", sa.Column("last_reject", sa.Text(), nullable=True))
    if "last_reject_at" not in columns:
        op.add_column("sources", sa.Column("last_reject_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), not a batch table copy: posts reference
    # sources, and with foreign keys on SQLite refuses to drop the old table during the copy.
    for column in ("last_reject_at", "last_reject", "rejected_last_run"):
        op.drop_column("sources", column)
