"""posts: (stage, region_code, id) index for the regions' pipeline passes, in place of (stage, id)

A worker's pipeline pass reads one region's posts waiting in a stage (``stage = 'new' AND
region_code = ? ORDER BY id``). With the index on (stage, id) PostgreSQL walked every region's
waiting posts to find one region's batch (17 regions: 17 times the rows a batch needs, on every
pass of every region). The new index answers one region's batch directly and still serves the
queries by stage alone (a deployment of one region has one region code, so its order is the id's).

Revision ID: 0014_stage_region_index
Revises: 0013_worker_leases
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_stage_region_index"
down_revision = "0013_worker_leases"
branch_labels = None
depends_on = None

NEW, NEW_COLUMNS = "ix_posts_stage_region", ["stage", "region_code", "id"]
OLD, OLD_COLUMNS = "ix_posts_stage", ["stage", "id"]


def _indexes() -> set[str]:
    return {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("posts") if ix["name"]}


def upgrade() -> None:
    # Re-runnable, like the earlier revisions: each step checks what is already there.
    existing = _indexes()
    if NEW not in existing:
        op.create_index(NEW, "posts", NEW_COLUMNS)
    if OLD in existing:
        op.drop_index(OLD, table_name="posts")


def downgrade() -> None:
    existing = _indexes()
    if OLD not in existing:
        op.create_index(OLD, "posts", OLD_COLUMNS)
    if NEW in existing:
        op.drop_index(NEW, table_name="posts")
