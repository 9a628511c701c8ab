"""'Lapor ke monitor' over WhatsApp: a screenshot sent to the business number (signed Cloud API webhook)
is downloaded by media id with the bearer token, read, stored as a `laporan` post, and answered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from monitor.demo.screenshot import chat_screenshot
from monitor.demo.whatsapp_stub import WhatsAppStub
from monitor.kernel.clock import SimulatedClock
from monitor.kernel.config import AppConfig
from monitor.service import MonitorService
from monitor.store.db import Database
from monitor.store.models import IssuePost, LaporanInbox, Post
from monitor.web.app import create_app
from tests.telegram_server import alert_config
from tests.whatsapp_support import TOKEN, post_webhook, whatsapp_only

T0 = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
CITIZEN = "6281377700001"
DRAWN = "Air PDAM di Kelurahan Kutaraya Kayuagung tidak mengalir tiga hari, warga terpaksa beli air galon"


def config_for(config: AppConfig, wa: WhatsAppStub, **settings: Any) -> AppConfig:
    data = whatsapp_only(alert_config(config), wa)
    data["sources"] = [
        {"name": "laporan", "kind": "laporan", "settings": {"allow_private_addresses": True, **settings}}
    ]
    return AppConfig.model_validate(data)


def test_whatsapp_screenshot_becomes_a_post_and_is_answered(
    sqlite_db: Database, config: AppConfig, wa: WhatsAppStub
) -> None:
    db = sqlite_db
    cfg = config_for(config, wa)
    clock = SimulatedClock(T0)
    with TestClient(create_app(cfg, db, clock)) as client:
        assert post_webhook(client, *wa.user_sends_image(CITIZEN, chat_screenshot(DRAWN), caption="tolong")) == 200
        # Meta redelivers a webhook it thinks failed: the report is queued once.
        assert post_webhook(client, *wa.last_webhook()) == 200
        assert post_webhook(client, *(wa.last_webhook()[0], "sha256=" + "0" * 64)) == 403
    with db.session() as s:
        assert len(s.scalars(select(LaporanInbox)).all()) == 1
    assert wa.sent() == [], "the webhook answers at once; no download, no reply yet"

    service = MonitorService(cfg, db, clock)
    try:
        assert service.collect("laporan").ok
        service.pipeline()
    finally:
        service.close()
    media_calls = [h for h in wa.media_requests if h["path"].startswith("/v24.0/")]
    assert media_calls and all(h["authorization"] == f"Bearer {TOKEN}" for h in wa.media_requests)
    with db.session() as s:
        post = s.scalars(select(Post).where(Post.platform == "laporan")).one()
        text = (post.text or "").lower()
        for word in ("pdam", "kutaraya", "kayuagung", "mengalir", "galon"):
            assert word in text, post.text
        row = s.scalars(select(LaporanInbox)).one()
        assert row.reply_status == "terkirim" and row.reply_to is None
        issue = s.scalar(select(IssuePost.issue_id).where(IssuePost.post_id == post.id))
        assert issue is not None and row.issue_id == issue, "a water complaint in Kayuagung forms or joins an issue"
    [reply] = [m for m in wa.sent() if m["to"] == CITIZEN]
    assert reply["type"] == "text" and reply["context"]["message_id"].startswith("wamid.")
    assert f"OKI-{issue}:" in reply["text"]["body"]


def test_whatsapp_unreadable_media_and_voice_are_answered(
    sqlite_db: Database, config: AppConfig, wa: WhatsAppStub
) -> None:
    db = sqlite_db
    cfg = config_for(config, wa, max_image_bytes=20_000)
    clock = SimulatedClock(T0)
    with TestClient(create_app(cfg, db, clock)) as client:
        assert post_webhook(client, *wa.user_sends_image(CITIZEN, chat_screenshot(DRAWN) + b"\0" * 30_000)) == 200
        assert post_webhook(client, *wa.user_sends_image(CITIZEN, b"not an image at all", mime="image/jpeg")) == 200
        voice = wa.webhook(
            {
                "contacts": [{"profile": {"name": "Warga"}, "wa_id": CITIZEN}],
                "messages": [
                    {
                        "from": CITIZEN,
                        "id": "wamid.VOICE1",
                        "timestamp": str(int(T0.timestamp())),
                        "type": "audio",
                        "audio": {"id": "M9", "mime_type": "audio/ogg"},
                    }
                ],
            }
        )
        assert post_webhook(client, *voice) == 200
    service = MonitorService(cfg, db, clock)
    try:
        assert service.collect("laporan").ok
        service.reply_reports()
    finally:
        service.close()
    with db.session() as s:
        rows = s.scalars(select(LaporanInbox).order_by(LaporanInbox.id)).all()
        assert [r.status for r in rows] == ["gagal", "gagal", "ditolak"]
        assert "terlalu besar" in (rows[0].reason or "") and "bukan gambar" in (rows[1].reason or "")
        assert s.scalars(select(Post)).all() == []
    texts = [m["text"]["body"] for m in wa.sent() if m["to"] == CITIZEN]
    assert len(texts) == 3 and "audio" in texts[2]
