"""Human label corrections (dashboard, Telegram/e-mail feedback buttons) as training examples."""

from __future__ import annotations

from sqlalchemy import select

from monitor.db import Database
from monitor.models import LabelCorrection, Post

_BOOL_FIELDS = {"relevant", "is_complaint"}
_TRUE = {"1", "true", "ya", "yes"}


def stored_corrections(db: Database) -> list[tuple[str, dict[str, object]]]:
    """Every stored correction with usable text, merged per text: the newest value of each field wins."""
    merged: dict[str, dict[str, object]] = {}
    with db.session() as session:
        rows = session.execute(
            select(LabelCorrection.field, LabelCorrection.value, LabelCorrection.text, Post.text)
            .join(Post, Post.id == LabelCorrection.post_id, isouter=True)
            .order_by(LabelCorrection.created_at, LabelCorrection.id)
        ).all()
    for field, value, kept_text, post_text in rows:
        text = kept_text or post_text
        if not text or field not in (*_BOOL_FIELDS, "topic"):
            continue
        label: object = value.strip().lower() in _TRUE if field in _BOOL_FIELDS else value
        merged.setdefault(text, {})[field] = label
    return list(merged.items())
