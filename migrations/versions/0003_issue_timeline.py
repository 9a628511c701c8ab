"""issue_posts.post_created_at and the issue-timeline index

Issue pages show an issue's newest original posts and its posts per hour. Both used to fetch
every member post (hundreds of scattered table blocks for a busy issue) only to read its
creation time; the time is now copied onto the membership row, and one index in timeline order
answers both.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _indexes() -> set[str]:
    return {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("issue_posts") if ix["name"]}


def upgrade() -> None:
    # Re-runnable, like 0002: SQLite has no transactional DDL for every statement.
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("issue_posts")}
    if "post_created_at" not in columns:
        with op.batch_alter_table("issue_posts", schema=None) as batch_op:
            batch_op.add_column(sa.Column("post_created_at", sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE issue_posts SET post_created_at = "
        "(SELECT posts.created_at FROM posts WHERE posts.id = issue_posts.post_id) "
        "WHERE post_created_at IS NULL"
    )
    with op.batch_alter_table("issue_posts", schema=None) as batch_op:
        batch_op.alter_column("post_created_at", existing_type=sa.DateTime(), nullable=False)
    # Outside batch mode: SQLite's table copy cannot name a column in a descending index.
    existing = _indexes()
    if "ix_issue_posts_timeline" not in existing:
        op.create_index(
            "ix_issue_posts_timeline", "issue_posts", ["issue_id", "is_spread", sa.text("post_created_at DESC")]
        )
    if "ix_issue_posts_issue" in existing:
        op.drop_index("ix_issue_posts_issue", table_name="issue_posts")


def downgrade() -> None:
    op.create_index("ix_issue_posts_issue", "issue_posts", ["issue_id"])
    op.drop_index("ix_issue_posts_timeline", table_name="issue_posts")
    with op.batch_alter_table("issue_posts", schema=None) as batch_op:
        batch_op.drop_column("post_created_at")
