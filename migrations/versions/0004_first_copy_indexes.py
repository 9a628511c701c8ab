"""posts: (content_hash, id) and (canonical_url, id) indexes for the first-copy look-up

Ingest links a post to the first stored copy of its text or URL. With an index on the hash (or
URL) alone, PostgreSQL fetched every stored copy's row to find the smallest id, so the look-up
grew with the number of copies (a widely shared story: thousands); with the id in the index,
``min(id)`` for one hash is a single index probe. SQLite's indexes already end in the rowid (the
id), so there the new indexes answer the same way the old ones did.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_REPLACED = {
    # new index: (columns, the index it replaces)
    "ix_posts_content_hash_id": (["content_hash", "id"], "ix_posts_content_hash"),
    "ix_posts_canonical_url_id": (["canonical_url", "id"], "ix_posts_canonical_url"),
}


def _indexes() -> set[str]:
    return {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("posts") if ix["name"]}


def upgrade() -> None:
    # Re-runnable, like 0002 and 0003: each step checks what is already there.
    existing = _indexes()
    for name, (columns, old) in _REPLACED.items():
        if name not in existing:
            op.create_index(name, "posts", columns)
        if old in existing:
            op.drop_index(old, table_name="posts")


def downgrade() -> None:
    existing = _indexes()
    for name, (columns, old) in _REPLACED.items():
        if old not in existing:
            op.create_index(old, "posts", columns[:1])
        if name in existing:
            op.drop_index(name, table_name="posts")
