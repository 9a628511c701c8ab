"""One thread per issue and recipient: Telegram replies, fixed e-mail subjects with In-Reply-To, charts only when new.

Against the local Telegram Bot API stand-in and a real SMTP server (aiosmtpd).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from typing import Any

from sqlalchemy import select

from alerts.engine import evaluate
from alerts.outbox import deliver_due, growth_hash
from monitor.demo.smtp_sink import SmtpSink
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import AlertThread, Issue, Signal
from tests.telegram_server import TelegramStub, alert_config, group_of_three, make_issue

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
PUPR_CHAT = "-1001000000002"


def _subject(mail: Any) -> str:
    return str(make_header(decode_header(mail.subject)))


def _grow(db: Database, issue_id: int, at: datetime, mentions: int, **changes: Any) -> None:
    """The issue gains posts (a new growth reading) and whatever else ``changes`` says."""
    with db.session() as s:
        issue = s.get(Issue, issue_id)
        assert issue is not None
        for key, value in changes.items():
            setattr(issue, key, value)
        s.add(Signal(issue_id=issue_id, at=at, stage=issue.stage, score=issue.score, mentions=mentions))


def _chat(tg: TelegramStub, chat: str) -> list[dict[str, Any]]:
    return [p for p in tg.sent_messages() if str(p["chat_id"]) == chat]


def test_telegram_updates_reply_to_the_first_message_and_charts_only_when_new(
    db: Database, config: AppConfig, tg: TelegramStub
) -> None:
    cfg = alert_config(config, telegram_base=tg.base_url, smtp={"enabled": False})
    with db.session() as s:
        issue_id = make_issue(s, T0).id
        evaluate(s, cfg, T0)
    assert deliver_due(db, cfg, T0).sent == 1
    (first,) = _chat(tg, PUPR_CHAT)
    assert "reply_parameters" not in first
    first_id = 1
    photo = tg.calls("sendPhoto")[0].params
    assert photo["caption"] == f"OKI-{issue_id} · Jalan rusak parah di Cengal: grafik pertumbuhan unggahan"

    # Viral, with more posts: an update, answering the first message, with a new chart.
    t1 = T0 + timedelta(hours=1)
    _grow(db, issue_id, t1, 40, stage="viral", title="Jalan rusak parah di Cengal, truk terguling")
    with db.session() as s:
        evaluate(s, cfg, t1)
    deliver_due(db, cfg, t1)
    update = _chat(tg, PUPR_CHAT)[-1]
    assert "Pembaruan" in update["text"]
    assert update["reply_parameters"] == {"message_id": first_id, "allow_sending_without_reply": True}
    assert tg.messages[(PUPR_CHAT, int(update_id := _last_message_id(tg, PUPR_CHAT)))]["reply_to"] == first_id
    assert len(tg.calls("sendPhoto")) == 3  # humas's first alert (viral) has its own chart
    # humas hears of the viral issue for the first time: its own thread, not a reply to PUPR's message.
    humas = _chat(tg, "-1009999")
    assert len(humas) == 1 and "reply_parameters" not in humas[0]

    # A day later nothing new: the reminder answers the first message too, without the same chart again.
    t2 = t1 + timedelta(hours=25)
    with db.session() as s:
        kinds = [a.kind for a in evaluate(s, cfg, t2) if a.receiver == "agency:pupr"]
    assert kinds == ["repeat"]
    photos_before = len(tg.calls("sendPhoto"))
    deliver_due(db, cfg, t2)
    repeat = _chat(tg, PUPR_CHAT)[-1]
    assert "Pengingat" in repeat["text"] and repeat["reply_parameters"]["message_id"] == first_id
    assert _last_message_id(tg, PUPR_CHAT) > update_id
    pupr_photos = [c for c in tg.calls("sendPhoto")[photos_before:] if str(c.params["chat_id"]) == PUPR_CHAT]
    assert pupr_photos == []
    with db.session() as s:
        threads = {(t.channel, t.recipient): t for t in s.scalars(select(AlertThread))}
    assert threads[("telegram", PUPR_CHAT)].external_id == "1"


def _last_message_id(tg: TelegramStub, chat: str) -> int:
    return max(mid for (c, mid), m in tg.messages.items() if c == chat and "ack:" in str(m["reply_markup"]))


def test_email_subject_is_fixed_with_the_issue_number_and_updates_thread_under_the_first(
    db: Database, config: AppConfig, smtp: SmtpSink, tg: TelegramStub
) -> None:
    cfg = alert_config(config, smtp_port=smtp.port, telegram_base=tg.base_url, telegram={"enabled": False})
    with db.session() as s:
        issue_id = make_issue(s, T0, title="Jembatan gantung putus", kecamatan="Pampangan").id
        evaluate(s, cfg, T0)
    deliver_due(db, cfg, T0)
    # The title drifts as posts come in; the thread keeps the first one.
    t1 = T0 + timedelta(hours=1)
    _grow(db, issue_id, t1, 30, stage="viral", title="Perahu jembatan gantung putus")
    with db.session() as s:
        evaluate(s, cfg, t1)
    deliver_due(db, cfg, t1)
    to_pupr = [m for m in smtp.received if m.rcpt_tos == ("pupr@okikab.example",)]
    first, update = to_pupr
    subject = f"[OKI-{issue_id}] Jembatan gantung putus – Kec. Pampangan"
    assert _subject(first) == subject and _subject(update) == subject
    assert update.message["In-Reply-To"] == first.message["Message-ID"]
    assert update.message["References"] == first.message["Message-ID"]
    # humas's first mail about the issue starts humas's own thread, under the subject of that moment.
    (to_humas,) = [m for m in smtp.received if m.rcpt_tos == ("humas@okikab.example",)]
    assert to_humas.message["In-Reply-To"] is None
    assert _subject(to_humas) == f"[OKI-{issue_id}] Perahu jembatan gantung putus – Kec. Pampangan"


def test_escalation_does_not_answer_a_mail_its_receiver_never_got(
    sqlite_db: Database, config: AppConfig, smtp: SmtpSink, tg: TelegramStub
) -> None:
    db = sqlite_db
    cfg = alert_config(config, smtp_port=smtp.port, telegram_base=tg.base_url, telegram={"enabled": False})
    with db.session() as s:
        make_issue(s, T0)
        evaluate(s, cfg, T0)
    deliver_due(db, cfg, T0)
    later = T0 + timedelta(minutes=cfg.alerts.escalate_after_minutes + 1)
    with db.session() as s:
        assert [a.kind for a in evaluate(s, cfg, later)] == ["escalation"]
    deliver_due(db, cfg, later)
    esc = smtp.received[-1]
    assert esc.rcpt_tos == ("humas@okikab.example",)
    assert esc.message["In-Reply-To"] is None and esc.message["References"] is None


def test_an_update_of_a_grouped_issue_answers_the_group_message(
    sqlite_db: Database, config: AppConfig, tg: TelegramStub
) -> None:
    db = sqlite_db
    cfg = alert_config(config, telegram_base=tg.base_url, smtp={"enabled": False})
    with db.session() as s:
        _group, ids = group_of_three(s, cfg, T0)
    deliver_due(db, cfg, T0)
    (group_msg,) = _chat(tg, PUPR_CHAT)
    assert "Ringkasan isu" in group_msg["text"] and f"OKI-{ids[0]}" in group_msg["text"]
    t1 = T0 + timedelta(hours=1)
    _grow(db, ids[0], t1, 25, stage="viral", score=90.0)
    with db.session() as s:
        evaluate(s, cfg, t1)
    deliver_due(db, cfg, t1)
    update = _chat(tg, PUPR_CHAT)[-1]
    assert update["reply_parameters"]["message_id"] == 1


def test_chart_fingerprint_follows_the_curve_not_the_clock() -> None:
    a = [["2026-12-01T02:00:00+00:00", 3], ["2026-12-01T03:00:00+00:00", 12]]
    flat_later = [*a, ["2026-12-01T04:00:00+00:00", 12]]
    grown = [*a, ["2026-12-01T04:00:00+00:00", 30]]
    assert growth_hash(a) == growth_hash(flat_later) != growth_hash(grown)
    assert growth_hash(a[:1]) is None
