"""Human label corrections (dashboard, triage list, Telegram/e-mail feedback buttons) as training examples."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store.db import Database
from monitor.store.models import LabelCorrection, Post

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


def post_text_for_training(post: Post | None) -> str | None:
    """The text a correction keeps (title and body), so retraining survives the retention purge."""
    if post is None:
        return None
    return "\n".join(t for t in (post.title, post.text) if t) or None


def record_corrections(
    session: Session,
    post_id: int,
    fields: Mapping[str, object],
    *,
    user_id: int | None,
    source: str,
    now: datetime,
) -> list[LabelCorrection]:
    """Store one correction row per field (``relevant``/``is_complaint`` booleans, ``topic`` a key).

    Rows are written the way the issue page's corrections are (booleans as ``"true"``/``"false"``,
    the post's text copied), so :func:`stored_corrections` reads them like any other.
    """
    text = post_text_for_training(session.get(Post, post_id))
    rows = []
    for name, value in fields.items():
        if name not in (*_BOOL_FIELDS, "topic"):
            raise ValueError(f"field {name!r} cannot be corrected here")
        stored = ("true" if value else "false") if name in _BOOL_FIELDS else str(value)
        row = LabelCorrection(
            post_id=post_id, field=name, value=stored, text=text, user_id=user_id, source=source, created_at=now
        )
        session.add(row)
        rows.append(row)
    return rows
