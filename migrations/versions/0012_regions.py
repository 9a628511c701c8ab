"""region_code on sources, posts, issues, alerts, agencies, scope_counts and users: several regions in one deployment

A province (or the whole country) runs one monitor for many kabupaten/kota. Every row that
belongs to a region carries its Kemendagri code ("16.02"); the rows written before this
revision are OKI's (16.02), which the server default fills in. A user's region is NULL for
"every region" (province comms, admins), so existing users keep seeing everything they saw.
An agency code is unique within its region only (every regency has its own "pupr"), and the
hourly trend aggregates are kept per region.

Revision ID: 0012_regions
Revises: 0011_laporan_inbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_regions"
down_revision = "0011_laporan_inbox"
branch_labels = None
depends_on = None

OKI = "16.02"
"""Frozen here on purpose: what rows of the older schema are, whatever the code's default becomes."""
REGION_TABLES = ("sources", "posts", "issues", "alerts", "agencies", "scope_counts")
INDEXES = (
    ("ix_issues_region_status", "issues", ["region_code", "status"]),
    ("ix_posts_region_created", "posts", ["region_code", "created_at"]),
    ("ix_alerts_region", "alerts", ["region_code", "created_at"]),
)
SCOPE_KEY = ["hour", "topic", "kecamatan", "agency_code", "platform"]
# SQLite's table copy names the unnamed UNIQUE(code) of 0001 by this convention so it can be dropped.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def _indexes(table: str) -> set[str]:
    return {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes(table) if ix["name"]}


def _uniques(table: str) -> list[tuple[str | None, list[str]]]:
    return [(u["name"], list(u["column_names"])) for u in sa.inspect(op.get_bind()).get_unique_constraints(table)]


def upgrade() -> None:
    # Re-runnable like the earlier revisions: each step checks what is already there. Plain ADD COLUMN
    # with a constant default: no table rewrite on PostgreSQL (11+) nor on SQLite.
    for table in REGION_TABLES:
        if "region_code" not in _columns(table):
            op.add_column(table, sa.Column("region_code", sa.String(length=5), nullable=False, server_default=OKI))
    if "region_code" not in _columns("users"):
        op.add_column("users", sa.Column("region_code", sa.String(length=5), nullable=True))
    for name, table, columns in INDEXES:
        if name not in _indexes(table):
            op.create_index(name, table, columns)
    agency_uniques = _uniques("agencies")
    if not any(cols == ["region_code", "code"] for _, cols in agency_uniques):
        # agencies and scope_counts are referenced by no foreign key, so SQLite's table copy is safe.
        with op.batch_alter_table("agencies", naming_convention=_NAMING) as batch:
            for found, cols in agency_uniques:
                if cols == ["code"]:
                    batch.drop_constraint(found or "uq_agencies_code", type_="unique")
            batch.create_unique_constraint("uq_agencies_region_code", ["region_code", "code"])
    if not any(cols == [*SCOPE_KEY, "region_code"] for _, cols in _uniques("scope_counts")):
        with op.batch_alter_table("scope_counts") as batch:
            batch.drop_constraint("uq_scope_counts", type_="unique")
            batch.create_unique_constraint("uq_scope_counts", [*SCOPE_KEY, "region_code"])


def downgrade() -> None:
    # One region again: once the column is gone the rows of other regions cannot be told from OKI's.
    # Their agencies (mirrored from their config) and trend aggregates are dropped, so the older
    # unique keys hold again; posts, issues and alerts are kept.
    op.execute(f"DELETE FROM agencies WHERE region_code <> '{OKI}'")
    op.execute(f"DELETE FROM scope_counts WHERE region_code <> '{OKI}'")
    with op.batch_alter_table("scope_counts") as batch:
        batch.drop_constraint("uq_scope_counts", type_="unique")
        batch.create_unique_constraint("uq_scope_counts", SCOPE_KEY)
        batch.drop_column("region_code")
    with op.batch_alter_table("agencies") as batch:
        batch.drop_constraint("uq_agencies_region_code", type_="unique")
        batch.create_unique_constraint("uq_agencies_code", ["code"])
        batch.drop_column("region_code")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), not a batch table copy: other tables reference
    # these, and with foreign keys on SQLite refuses to drop the old table during the copy.
    op.drop_column("users", "region_code")
    for table in ("alerts", "issues", "posts", "sources"):
        op.drop_column(table, "region_code")
