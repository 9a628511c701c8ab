""" "Lapor ke monitor": accepting forwarded messages, the collector's inbox, and the replies.

Three steps, each short and in its own transaction, so a webhook never waits for a download,
OCR or the classifier:

1. :func:`alerts.inbound.accept` (called by the Telegram update handler and the WhatsApp webhook): the message is
   checked (allow-list in ``staff`` mode, per-sender rate limit, declared size, kind) and queued as a
   ``laporan_inbox`` row; a refused one is queued with its reply already written.
2. The ``laporan`` collector (:mod:`collectors.laporan`) reads accepted rows through :class:`DbInbox`
   into posts of source ``laporan``, which are classified and grouped like any other post.
3. :func:`send_replies` (after each pipeline run and in housekeeping) answers every row whose
   outcome is known: the issue the post joined (number, title, dashboard link), or "tidak terkait
   OKI" with the reason, or the refusal. Sent through the channel it came from; a temporary failure
   is retried with backoff (outbox style), five failures give up.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.inbound import settings_of
from collectors.laporan import Channels, Pending, external_id
from monitor.kernel.clock import format_wib
from monitor.kernel.config import AppConfig, secret
from monitor.store.db import Database
from monitor.store.models import Issue, IssuePost, Label, LaporanInbox, Post, Source

log = logging.getLogger(__name__)

WAIT_LIMIT = timedelta(hours=6)
"""A report still unplaced after this is answered "diterima, sedang diperiksa" (the reply must not wait forever)."""
MAX_REPLY_ATTEMPTS = 5


# --- 2. the collector's inbox ---------------------------------------------------------------------


class DbInbox:
    """:class:`collectors.laporan.Inbox` on the ``laporan_inbox`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def pending(self, after: int, limit: int) -> list[Pending]:
        """Accepted rows after ``after``, oldest first; the sender is its pseudonym (the post's author)."""
        with self.db.session() as session:
            rows = session.scalars(
                select(LaporanInbox)
                .where(LaporanInbox.id > after, LaporanInbox.status == "baru")
                .order_by(LaporanInbox.id)
                .limit(limit)
            ).all()
            return [Pending(r.id, r.channel, r.sender_key or "", r.received_at, dict(r.payload or {})) for r in rows]

    def unreadable(self, row_id: int, reason: str) -> None:
        """The row gives no post: the forwarder is told why."""
        with self.db.session() as session:
            row = session.get(LaporanInbox, row_id)
            if row is not None and row.status == "baru":
                row.status, row.reason = "gagal", reason
                row.payload = {}
                row.reply_text = f"Maaf, laporan Anda belum bisa kami baca: {reason}. Coba kirim sebagai teks."


def channels_of(config: AppConfig) -> Channels:
    """API addresses and tokens of the channels media is downloaded from."""
    tg = config.alerts.telegram
    cloud = config.alerts.whatsapp.cloud
    return Channels(
        telegram_base=tg.api_base,
        telegram_token=secret(tg.token_env) or "",
        whatsapp_base=cloud.api_base,
        whatsapp_version=cloud.api_version,
        whatsapp_token=secret(cloud.token_env) or "",
    )


def attach(collector: Any, db: Database, config: AppConfig) -> None:
    """Give a collector that reads the inbox (it has ``use``) the database inbox and the channels."""
    use = getattr(collector, "use", None)
    if callable(use):
        use(DbInbox(db), channels_of(config))


# --- 3. replies -----------------------------------------------------------------------------------


def joined_text(issue: Issue, dashboard_url: str) -> str:
    """The reply naming the issue a report joined."""
    link = f"{dashboard_url.rstrip('/')}/issues/{issue.id}"
    return (
        f"Terima kasih, laporan Anda sudah kami terima dan masuk isu OKI-{issue.id}: {issue.title}.\n"
        f"Perkembangannya: {link}"
    )


def unrelated_text(reason: str) -> str:
    """The reply for a report the classifier set aside."""
    return f"Terima kasih. Laporan Anda kami catat, tetapi tidak terkait OKI: {reason}."


def outcome(
    session: Session, row: LaporanInbox, source: Source | None, dashboard_url: str, now: datetime
) -> str | None:
    """The reply a row can get now, or None while its post is still on its way (updates the row's status)."""
    if row.status in ("ditolak", "gagal"):
        return row.reply_text
    post = (
        session.scalar(
            select(Post).where(Post.source_id == source.id, Post.external_id == external_id(row.channel, row.id))
        )
        if source is not None
        else None
    )
    if post is None:
        read_past = int(((source.cursor if source is not None else None) or {}).get("after") or 0)
        if source is not None and read_past >= row.id:
            # Read but not stored: ingest's place filter found no OKI place or body in it.
            row.status, row.payload = "tidak_terkait", {}
            return unrelated_text("tidak menyebut tempat atau instansi di Kabupaten OKI")
        return _waited_too_long(row, now)
    # The post holds the text now (and the retention purge clears it there): the queue keeps none of it.
    row.status, row.payload = "disimpan", {}
    issue = _issue_of(session, post)
    if issue is not None:
        row.issue_id = issue.id
        return joined_text(issue, dashboard_url)
    if post.stage == "filtered":
        label = session.scalar(select(Label).where(Label.post_id == post.id).order_by(Label.id.desc()).limit(1))
        if label is not None and not label.relevant:
            return unrelated_text("isinya tidak tentang pelayanan publik di Kabupaten OKI")
        if label is not None and not label.is_complaint:
            return unrelated_text("isinya bukan keluhan atau laporan masalah layanan publik")
        return unrelated_text("tidak menyangkut isu yang sedang dipantau")
    return _waited_too_long(row, now)


def _waited_too_long(row: LaporanInbox, now: datetime) -> str | None:
    if now - row.received_at < WAIT_LIMIT:
        return None
    return "Terima kasih, laporan Anda sudah kami terima dan sedang diperiksa petugas."


def _issue_of(session: Session, post: Post) -> Issue | None:
    """The open issue holding the post (or the copy it duplicates), following merges."""
    ids = [post.id] + ([post.duplicate_of_id] if post.duplicate_of_id else [])
    issue_id = session.scalar(select(IssuePost.issue_id).where(IssuePost.post_id.in_(ids)).limit(1))
    issue = session.get(Issue, issue_id) if issue_id is not None else None
    for _ in range(10):  # merge chains are short; the bound guards a cycle
        if issue is None or issue.merged_into_id is None:
            break
        issue = session.get(Issue, issue.merged_into_id)
    return issue


class ReplyFailed(Exception):
    def __init__(self, message: str, *, temporary: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.retry_after = retry_after


def _send(config: AppConfig, row: LaporanInbox, text: str, client: httpx.Client | None) -> None:
    """One reply through the channel the report came from; raises :class:`ReplyFailed`."""
    if row.channel == "telegram":
        from alerts.channels.telegram import TelegramApiError, TelegramClient

        api = TelegramClient(config.alerts.telegram, client)
        payload: dict[str, Any] = {"chat_id": row.reply_to, "text": text[:4000]}
        if row.reply_ref and row.reply_ref.isdigit():
            payload["reply_parameters"] = {"message_id": int(row.reply_ref), "allow_sending_without_reply": True}
        try:
            api.call("sendMessage", payload)
        except TelegramApiError as exc:
            raise ReplyFailed(str(exc), temporary=exc.temporary, retry_after=exc.retry_after) from None
        return
    from alerts.channels.whatsapp import CloudClient, WhatsAppError

    if config.alerts.whatsapp.profile != "cloud":
        raise ReplyFailed("balasan WhatsApp hanya lewat Cloud API", temporary=False)
    message: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": row.reply_to,
        "type": "text",
        "text": {"body": text[:4096], "preview_url": False},
    }
    if row.reply_ref:
        message["context"] = {"message_id": row.reply_ref}
    try:
        CloudClient(config.alerts.whatsapp, client).post(message)
    except WhatsAppError as exc:
        raise ReplyFailed(str(exc), temporary=exc.temporary, retry_after=exc.retry_after) from None


def send_replies(db: Database, config: AppConfig, now: datetime, *, client: httpx.Client | None = None) -> int:
    """Answer every waiting report whose outcome is known; return how many replies went out.

    The outcome is decided and stored first (one transaction), then each reply is sent and its
    result stored: a crash between the two sends a reply at most once more.
    """
    found = settings_of(config)
    if found is None:
        return 0
    name, _settings = found
    due: list[tuple[int, str]] = []
    with db.session() as session:
        source = session.scalar(select(Source).where(Source.name == name))
        rows = session.scalars(
            select(LaporanInbox)
            .where(
                LaporanInbox.reply_status == "menunggu",
                (LaporanInbox.reply_next_at.is_(None)) | (LaporanInbox.reply_next_at <= now),
            )
            .order_by(LaporanInbox.id)
            .limit(100)
        ).all()
        for row in rows:
            text = outcome(session, row, source, config.alerts.dashboard_url, now)
            if text is None:
                continue
            row.reply_text = text
            if not row.reply_to:
                row.reply_status = "tidak_perlu"
                continue
            due.append((row.id, text))
    sent = 0
    for row_id, text in due:
        with db.session() as session:
            # Locked while its reply is sent: the pipeline and housekeeping of two workers may both be
            # here, and the one that finds the row locked leaves it to the other (SQLite: one writer anyway).
            current = session.get(LaporanInbox, row_id, with_for_update={"skip_locked": True})
            if current is None or current.reply_status != "menunggu" or not current.reply_to:
                continue
            row = current
            try:
                _send(config, row, text, client)
            except ReplyFailed as exc:
                row.reply_attempts += 1
                if exc.temporary and row.reply_attempts < MAX_REPLY_ATTEMPTS:
                    wait = exc.retry_after or 60 * 2 ** (row.reply_attempts - 1)
                    row.reply_next_at = now + timedelta(seconds=wait)
                    log.info("laporan %s: reply failed, again at %s: %s", row.id, format_wib(row.reply_next_at), exc)
                else:
                    row.reply_status, row.reply_to = "gagal", None
                    log.warning("laporan %s: reply given up: %s", row.id, exc)
                continue
            row.reply_status, row.replied_at, row.reply_to = "terkirim", now, None
            sent += 1
    return sent
