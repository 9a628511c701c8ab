"""issues.facets and issue_posts.is_response: incident grouping

One event at one place is one issue whatever facet its posts talk about (issue #18). The issue
keeps the weight of each topic and place its posts named (``facets``), from which its primary
topic and agency, its secondary agencies and its place are decided; a government statement
joins as a response (``is_response``), which is not a complaint and does not count as growth.

Revision ID: 0005_incident
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_incident"
down_revision = "0004"
branch_labels = None
depends_on = None


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    # Re-runnable, like 0002-0004: each step checks what is already there. Plain ADD COLUMN (with a
    # constant default) on both databases: SQLite's batch mode would copy and drop ``issues``, which
    # other tables reference.
    if "facets" not in _columns("issues"):
        op.add_column("issues", sa.Column("facets", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    if "is_response" not in _columns("issue_posts"):
        op.add_column("issue_posts", sa.Column("is_response", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("issue_posts", "is_response")
    op.drop_column("issues", "facets")
