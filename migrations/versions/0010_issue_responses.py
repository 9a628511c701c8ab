"""issues.response_status / assigned_at / response_at and issue_responses (the agency's answer, step by step)

An agency answers an issue apart from its virality stage: belum_ditanggapi → diterima →
diproses → selesai, or bukan_keluhan, or salah_dinas (rerouted to another agency). Each step is
a row of ``issue_responses`` (who, when, which agency, the note); the issue keeps its current
status. Existing issues are backfilled: an alerted issue is ``assigned`` at its first alert,
an acknowledged one ``diterima``, a resolved one ``selesai``.

Revision ID: 0010_issue_responses
Revises: 0009_login_throttle
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_issue_responses"
down_revision = "0009_login_throttle"
branch_labels = None
depends_on = None


def _indexes(table: str) -> set[str]:
    return {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes(table) if ix["name"]}


def upgrade() -> None:
    # Re-runnable, like the earlier revisions: each step checks what is already there.
    bind = op.get_bind()
    columns = {c["name"] for c in sa.inspect(bind).get_columns("issues")}
    if "response_status" not in columns:
        op.add_column(
            "issues",
            sa.Column("response_status", sa.String(length=20), nullable=False, server_default="belum_ditanggapi"),
        )
    if "assigned_at" not in columns:
        op.add_column("issues", sa.Column("assigned_at", sa.DateTime(), nullable=True))
    if "response_at" not in columns:
        op.add_column("issues", sa.Column("response_at", sa.DateTime(), nullable=True))
    created = False
    if not sa.inspect(bind).has_table("issue_responses"):
        op.create_table(
            "issue_responses",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("issue_id", sa.Integer(), sa.ForeignKey("issues.id"), nullable=False),
            sa.Column("agency_code", sa.String(length=40), nullable=True),
            sa.Column("kind", sa.String(length=20), nullable=False),
            sa.Column("status", sa.String(length=20), nullable=False),
            sa.Column("previous_status", sa.String(length=20), nullable=True),
            sa.Column("to_agency", sa.String(length=40), nullable=True),
            sa.Column("note", sa.Text(), nullable=True),
            sa.Column("evidence_url", sa.Text(), nullable=True),
            sa.Column("until", sa.DateTime(), nullable=True),
            sa.Column("actor", sa.String(length=100), nullable=False),
            sa.Column("channel", sa.String(length=20), nullable=False),
            sa.Column("at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        created = True
    existing = _indexes("issue_responses")
    if "ix_issue_responses_issue" not in existing:
        op.create_index("ix_issue_responses_issue", "issue_responses", ["issue_id", "at"])
    if "ix_issue_responses_agency" not in existing:
        op.create_index("ix_issue_responses_agency", "issue_responses", ["agency_code", "at"])
    if created:
        _backfill()


def _backfill() -> None:
    # The clock of an issue alerted before this revision starts at its first alert to anyone.
    op.execute(
        "UPDATE issues SET assigned_at = (SELECT MIN(alerts.created_at) FROM alerts "
        "WHERE alerts.issue_id = issues.id AND alerts.kind IN ('first', 'crisis')) WHERE assigned_at IS NULL"
    )
    op.execute(
        "INSERT INTO issue_responses (issue_id, agency_code, kind, status, actor, channel, at) "
        "SELECT id, agency_code, 'assigned', 'belum_ditanggapi', 'sistem', 'sistem', assigned_at "
        "FROM issues WHERE assigned_at IS NOT NULL"
    )
    op.execute(
        "INSERT INTO issue_responses (issue_id, agency_code, kind, status, previous_status, actor, channel, at) "
        "SELECT id, agency_code, 'status', 'diterima', 'belum_ditanggapi', COALESCE(acknowledged_by, 'sistem'), "
        "'sistem', acknowledged_at FROM issues WHERE acknowledged_at IS NOT NULL"
    )
    op.execute(
        "INSERT INTO issue_responses (issue_id, agency_code, kind, status, previous_status, actor, channel, at) "
        "SELECT id, agency_code, 'status', 'selesai', 'diterima', 'sistem', 'sistem', resolved_at "
        "FROM issues WHERE resolved_at IS NOT NULL AND status = 'resolved'"
    )
    op.execute(
        "UPDATE issues SET response_status = 'diterima', response_at = acknowledged_at "
        "WHERE acknowledged_at IS NOT NULL"
    )
    op.execute(
        "UPDATE issues SET response_status = 'selesai', response_at = resolved_at "
        "WHERE resolved_at IS NOT NULL AND status = 'resolved'"
    )


def downgrade() -> None:
    op.drop_index("ix_issue_responses_agency", table_name="issue_responses")
    op.drop_index("ix_issue_responses_issue", table_name="issue_responses")
    op.drop_table("issue_responses")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), not a batch table copy: other tables reference
    # issues, and with foreign keys on SQLite refuses to drop the old table during the copy.
    for column in ("response_at", "assigned_at", "response_status"):
        op.drop_column("issues", column)
