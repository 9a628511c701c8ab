"""WhatsApp's customer service window: when a recipient last wrote to us, kept in the database.

WhatsApp lets a business send free-form messages to a user only within 24 hours of the
user's last message to it; outside that window only an approved template may go. The
webhook records every inbound message's time here; the outbox asks before each send.

One internal ``sources`` row per phone number (kind ``_internal``, like the Telegram update
offset): webhook workers writing for different numbers never touch the same row.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.store.models import Source

WINDOW = timedelta(hours=24)
ROW_PREFIX = "_wa_window:"
_DIGITS = re.compile(r"\D+")


def normalise_number(number: str) -> str:
    """A phone number as WhatsApp names it (``wa_id``): digits with the country code, ``0812…`` → ``62812…``."""
    digits = _DIGITS.sub("", number)
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return digits


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def last_inbound(session: Session, number: str) -> datetime | None:
    """When ``number`` last wrote to us, or None when it never did (as far as the webhook saw)."""
    row = session.scalar(select(Source).where(Source.name == ROW_PREFIX + normalise_number(number)))
    if row is None or not row.last_success_at:
        return None
    return _aware(row.last_success_at)


def conversation_open(session: Session, number: str, now: datetime) -> bool:
    """True while the 24-hour window after the number's last message is open."""
    at = last_inbound(session, number)
    return at is not None and _aware(now) - at < WINDOW


def record_inbound(session: Session, number: str, at: datetime) -> None:
    """Note a message from ``number`` at ``at`` (an older, replayed webhook never moves the time back)."""
    name = ROW_PREFIX + normalise_number(number)
    row = session.scalar(select(Source).where(Source.name == name))
    if row is None:
        row = Source(name=name, kind="_internal", enabled=False, cursor={}, status="ok", last_success_at=at)
        try:
            with session.begin_nested():
                session.add(row)
            return
        except IntegrityError:
            # Another webhook worker created it a moment ago: update that one.
            row = session.scalar(select(Source).where(Source.name == name))
            if row is None:
                return
    if row.last_success_at is None or _aware(row.last_success_at) < at:
        row.last_success_at = at


def close_conversation(session: Session, number: str) -> None:
    """Forget the window (WhatsApp said it is closed: error 131047), so the next send is a template."""
    row = session.scalar(select(Source).where(Source.name == ROW_PREFIX + normalise_number(number)))
    if row is not None:
        row.last_success_at = None


PENDING_MINUTES = 60
"""How long a status button waits for its note (the person's next text message)."""


def set_pending(session: Session, number: str, action: dict[str, str] | None, now: datetime) -> None:
    """Remember (or forget, with None) a step that waits for the number's next text as its note."""
    name = ROW_PREFIX + normalise_number(number)
    row = session.scalar(select(Source).where(Source.name == name))
    if row is None:
        if action is None:
            return
        record_inbound(session, number, now)
        row = session.scalar(select(Source).where(Source.name == name))
        if row is None:
            return
    row.cursor = {"pending": {**action, "at": now.isoformat()}} if action else {}


def take_pending(session: Session, number: str, now: datetime) -> dict[str, str] | None:
    """The step waiting for this number's note, if one is still fresh; it is removed either way."""
    row = session.scalar(select(Source).where(Source.name == ROW_PREFIX + normalise_number(number)))
    pending = (row.cursor or {}).get("pending") if row is not None else None
    if row is None or not isinstance(pending, dict):
        return None
    row.cursor = {}
    try:
        at = _aware(datetime.fromisoformat(str(pending.get("at"))))
    except ValueError:
        return None
    if _aware(now) - at > timedelta(minutes=PENDING_MINUTES):
        return None
    return {str(k): str(v) for k, v in pending.items() if k != "at"}
