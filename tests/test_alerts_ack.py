"""Acknowledgement from Telegram buttons, signed e-mail links and the dashboard; one-tap feedback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from alerts.ack import AckError, acknowledge, sign_ack_link, verify_ack_link
from alerts.channels.telegram import OFFSET_SOURCE, handle_update, handle_webhook, poll_updates
from alerts.engine import evaluate
from alerts.links import apply_link
from alerts.outbox import deliver_due
from alerts.report import summarise
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Alert, AuditLog, Issue, IssueEvent, LabelCorrection, Source
from tests.telegram_server import TelegramStub, alert_config, make_issue

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _setup(db: Database, config: AppConfig, tg: TelegramStub) -> tuple[AppConfig, Alert]:
    cfg = alert_config(config, telegram_base=tg.base_url, smtp={"enabled": False})
    with db.session() as s:
        make_issue(s, T0)
        alert = evaluate(s, cfg, T0)[0]
    assert deliver_due(db, cfg, T0).sent == 1
    return cfg, alert


def test_pressing_tindak_lanjuti_acknowledges_and_stops_escalation(
    db: Database, config: AppConfig, tg: TelegramStub
) -> None:
    cfg, alert = _setup(db, config, tg)
    assert tg.press_ack_button(alert.ack_token, username="staf_pupr")
    assert poll_updates(db, cfg, T0 + timedelta(minutes=20)) == 1
    with db.session() as s:
        a = s.get(Alert, alert.id)
        issue = s.scalar(select(Issue))
        assert a is not None and issue is not None
        assert a.acknowledged_by == "telegram:@staf_pupr"
        assert a.acknowledged_at == T0 + timedelta(minutes=20)
        assert issue.acknowledged_at == T0 + timedelta(minutes=20)
        assert s.scalar(select(IssueEvent.kind).where(IssueEvent.kind == "acknowledged")) == "acknowledged"
        assert s.scalar(select(Source).where(Source.name == OFFSET_SOURCE)).cursor["offset"] > 900000001  # type: ignore[union-attr]
        # No escalation now that it is acknowledged.
        assert [x for x in evaluate(s, cfg, T0 + timedelta(hours=5)) if x.kind == "escalation"] == []
    answers = tg.calls("answerCallbackQuery")
    assert answers and "Dicatat" in answers[0].params["text"]
    edited = tg.calls("editMessageReplyMarkup")[0].params["reply_markup"]["inline_keyboard"][0][0]["text"]
    assert edited == "✅ Diterima oleh @staf_pupr"
    # The offset was stored: polling again applies nothing twice.
    assert poll_updates(db, cfg, T0 + timedelta(minutes=21)) == 0
    with db.session() as s:
        lines = summarise(s)
    assert any("ditindaklanjuti" in line and "telegram:@staf_pupr" in line for line in lines)


def test_feedback_buttons_become_label_corrections(sqlite_db: Database, config: AppConfig, tg: TelegramStub) -> None:
    db = sqlite_db
    cfg, alert = _setup(db, config, tg)
    assert tg.press_button(f"fb:o:{alert.ack_token}")
    assert tg.press_button(f"fb:o:{alert.ack_token}")  # pressed twice: stored once
    assert poll_updates(db, cfg, T0 + timedelta(minutes=5)) == 2
    # Messages sent before the status buttons carry "Bukan keluhan" / "Salah dinas" as feedback: still honoured.
    with db.session() as s:
        for n, code in enumerate(("n", "d")):
            press = {"update_id": n, "callback_query": {"id": f"q{n}", "from": {"id": 7}, "data": f"fb:{code}:x"}}
            press["callback_query"]["data"] = f"fb:{code}:{alert.ack_token}"
            assert handle_update(s, cfg, press, T0 + timedelta(minutes=6))
    with db.session() as s:
        rows = list(s.scalars(select(LabelCorrection).order_by(LabelCorrection.id)))
    assert sorted({(r.field, r.value) for r in rows}) == [
        ("agency", "bukan:pupr"),
        ("is_complaint", "false"),
        ("relevant", "false"),
    ]
    assert len(rows) == 9  # 3 example posts × 3 distinct answers
    assert all(r.source == "telegram" and r.text for r in rows)


def test_signed_email_link_round_trip_and_tampering(sqlite_db: Database, config: AppConfig, tg: TelegramStub) -> None:
    db = sqlite_db
    cfg, alert = _setup(db, config, tg)
    link = sign_ack_link(cfg, alert.ack_token)
    assert link is not None and link.startswith("http://127.0.0.1:8080/alerts/action/")
    signed = link.rsplit("/", 1)[1]
    action = verify_ack_link(cfg, signed)
    assert (action.token, action.action) == (alert.ack_token, "ack")
    with pytest.raises(AckError, match="tidak sah"):
        verify_ack_link(cfg, signed[:-2] + ("A" if signed[-2] != "A" else "B") + signed[-1])
    with pytest.raises(AckError, match="kedaluwarsa"):
        verify_ack_link(cfg, signed, max_age_days=-1)
    with db.session() as s:
        acknowledge(s, token=action.token, actor="email:pupr@okikab.example", now=T0 + timedelta(hours=1))
        acknowledge(s, token=action.token, actor="someone-else", now=T0 + timedelta(hours=2))
        a = s.get(Alert, alert.id)
        assert a is not None and a.acknowledged_by == "email:pupr@okikab.example"
        assert s.query(AuditLog).filter(AuditLog.action == "alert.acknowledge").count() == 1
        with pytest.raises(AckError, match="tidak ditemukan"):
            acknowledge(s, token="nope", actor="x", now=T0)


def test_telegram_webhook_needs_the_secret_token(
    sqlite_db: Database, config: AppConfig, tg: TelegramStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = sqlite_db
    cfg, alert = _setup(db, config, tg)
    monkeypatch.setenv("OKI_TEST_TG_WEBHOOK", "s3cret-token_1")
    cfg = alert_config(config, telegram_base=tg.base_url, telegram={"webhook_secret_env": "OKI_TEST_TG_WEBHOOK"})
    body = (
        '{"update_id": 5, "callback_query": {"id": "q1", "from": {"id": 7, "is_bot": false, "first_name": "A"},'
        f' "chat_instance": "1", "data": "ack:{alert.ack_token}"}}}}'
    ).encode()
    assert handle_webhook(db, cfg, "wrong", body, T0) == 403
    assert handle_webhook(db, cfg, None, body, T0) == 403
    assert handle_webhook(db, cfg, "s3cret-token_1", b"not json", T0) == 400
    assert handle_webhook(db, cfg, "s3cret-token_1", body, T0 + timedelta(minutes=3)) == 200
    with db.session() as s:
        a = s.get(Alert, alert.id)
        assert a is not None and a.acknowledged_by == "telegram:7"


def test_email_feedback_link_goes_to_label_corrections(
    sqlite_db: Database, config: AppConfig, tg: TelegramStub
) -> None:
    cfg, alert = _setup(sqlite_db, config, tg)
    link = sign_ack_link(cfg, alert.ack_token, "o")
    assert link is not None
    with sqlite_db.session() as s:
        said = apply_link(s, cfg, link.rsplit("/", 1)[1], actor="email", now=T0).message
        assert "bukan tentang OKI" in said
        assert {(r.field, r.value, r.source) for r in s.scalars(select(LabelCorrection))} == {
            ("relevant", "false", "email")
        }
        ack = sign_ack_link(cfg, alert.ack_token)
        assert ack is not None
        assert "dicatat" in apply_link(s, cfg, ack.rsplit("/", 1)[1], actor="email", now=T0).message
        assert s.get(Alert, alert.id).acknowledged_by == "email"  # type: ignore[union-attr]
