""" "Lapor ke monitor", the accepting end: a message sent to the bot is checked and queued.

Called by the Telegram update handler and the WhatsApp webhook, so it answers at once: the message is
checked (allow-list in ``staff`` mode, per-sender rate limit, declared size, kind) and queued as a
``laporan_inbox`` row; a refused one is queued with its reply already written. Reading the queue into
posts and sending the replies is the intake stage (:mod:`monitor.stages.intake`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.directory import Directory
from collectors.laporan import Inbound, Settings, laporan_source
from monitor.kernel.privacy import AuthorPseudonymiser
from monitor.store.models import LaporanInbox

log = logging.getLogger(__name__)

RATE_WINDOW = timedelta(hours=1)


def settings_of(config: Directory) -> tuple[str, Settings] | None:
    """The ``laporan`` source's name and settings, or None when the intake is off."""
    src = laporan_source(config)
    return (src.name, Settings.model_validate(src.settings)) if src is not None else None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with one message: keep it (``refusal`` None), refuse it with a reply, or refuse silently."""

    refusal: str | None = None
    reply: bool = True


def judge(inbound: Inbound, settings: Settings, sent_last_hour: int) -> Verdict:
    """Allow-list, rate limit, kind and declared size, in that order (pure)."""
    if sent_last_hour >= settings.per_sender_per_hour:
        # One polite refusal when the limit is reached, then silence: replies must not become the flood.
        return Verdict(
            f"terlalu banyak pesan: paling banyak {settings.per_sender_per_hour} laporan per jam. "
            "Silakan kirim lagi nanti.",
            reply=sent_last_hour == settings.per_sender_per_hour,
        )
    if settings.mode == "staff":
        allowed = {a.strip().lower().lstrip("+") for a in settings.allow}
        if not any(name.lower().lstrip("+") in allowed for name in inbound.names):
            return Verdict("bot ini hanya menerima laporan dari petugas yang terdaftar.")
    if inbound.problem:
        return Verdict(inbound.problem)
    if inbound.media is not None and inbound.media.size is not None and inbound.media.size > settings.max_image_bytes:
        return Verdict(
            f"berkas {inbound.media.size:,} byte terlalu besar (maks {settings.max_image_bytes:,} byte); "
            "kirim sebagai foto atau potong gambarnya."
        )
    return Verdict()


def accept(
    session: Session,
    config: Directory,
    inbound: Inbound,
    now: datetime,
    pseudonymise: Callable[[str | None], str | None] | None = None,
) -> LaporanInbox | None:
    """Queue one forwarded message in the caller's transaction; None when the intake is off or it is a repeat."""
    found = settings_of(config)
    if found is None:
        return None
    _name, settings = found
    if not getattr(settings, inbound.channel):
        return None
    known = session.scalar(
        select(LaporanInbox.id).where(LaporanInbox.channel == inbound.channel, LaporanInbox.message_key == inbound.key)
    )
    if known is not None:
        return None  # a webhook delivered twice, or a getUpdates batch re-read after a crash
    sender_key = (pseudonymise or AuthorPseudonymiser.from_config(config))(inbound.sender)
    recent = session.scalar(
        select(func.count(LaporanInbox.id)).where(
            LaporanInbox.sender_key == sender_key, LaporanInbox.received_at > now - RATE_WINDOW
        )
    )
    verdict = judge(inbound, settings, int(recent or 0))
    row = LaporanInbox(
        channel=inbound.channel,
        message_key=inbound.key,
        sender_key=sender_key,
        reply_to=inbound.reply_to,
        reply_ref=inbound.reply_ref,
        payload=inbound.to_json() if verdict.refusal is None else {},
        received_at=now,
        status="baru" if verdict.refusal is None else "ditolak",
        reason=verdict.refusal,
        reply_status="menunggu" if verdict.reply else "tidak_perlu",
        reply_text=refusal_text(verdict.refusal) if verdict.refusal else None,
        reply_attempts=0,
    )
    if not verdict.reply:
        row.reply_to = None
    session.add(row)
    session.flush()
    log.info("laporan %s accepted from %s: %s", row.id, inbound.channel, verdict.refusal or "ok")
    return row


def accept_telegram(session: Session, config: Directory, message: Mapping[str, Any], now: datetime) -> bool:
    """A Telegram message that is no button answer: queue it when it is a report; True when queued."""
    from collectors.laporan import parse_telegram

    inbound = parse_telegram(message, now)
    return inbound is not None and accept(session, config, inbound, now) is not None


def accept_whatsapp(
    session: Session, config: Directory, message: Mapping[str, Any], sender: str, now: datetime
) -> bool:
    """A WhatsApp inbound message that is no button press or status note: queue it; True when queued."""
    from collectors.laporan import parse_whatsapp

    inbound = parse_whatsapp(message, sender, now)
    return inbound is not None and accept(session, config, inbound, now) is not None


def refusal_text(reason: str) -> str:
    """The reply to a refused message."""
    return f"Maaf, laporan tidak kami terima: {reason}"
