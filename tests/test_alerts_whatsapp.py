"""WhatsApp alerts against a local server that checks Meta's documented request shapes and signatures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alerts.channels.whatsapp import classify_error, sign_body, verify_subscription
from alerts.conversation import conversation_open, normalise_number
from alerts.engine import evaluate
from alerts.outbox import deliver_due
from alerts.render import Links, render, template_param
from monitor.demo.whatsapp_stub import WhatsAppStub
from monitor.kernel.clock import SimulatedClock
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Alert, Delivery, Issue
from monitor.web.app import create_app
from tests.telegram_server import alert_config, make_issue
from tests.whatsapp_support import TOKEN, VERIFY, post_webhook, whatsapp_only

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
NUMBER = "0812-3456-7890"
WA_ID = "6281234567890"


def wa_config(config: AppConfig, wa: WhatsAppStub, **whatsapp: Any) -> AppConfig:
    """Alerts for PUPR go to one WhatsApp number only (mail and Telegram off)."""
    alerting = alert_config(
        config,
        receivers=[{"name": "pupr-wa", "agency": "pupr", "whatsapp": [NUMBER]}],
        route={"receiver": "pupr-wa"},
        escalate_to=None,
    )
    return AppConfig.model_validate(whatsapp_only(alerting, wa, **whatsapp))


def _alert(db: Database, cfg: AppConfig, now: datetime = T0) -> Alert:
    with db.session() as s:
        make_issue(s, now)
        (alert,) = [a for a in evaluate(s, cfg, now) if a.receiver == "pupr-wa"]
        return alert


def _delivery(db: Database) -> Delivery:
    with db.session() as s:
        (d,) = s.scalars(select(Delivery).where(Delivery.channel == "whatsapp")).all()
        return d


def test_numbers_and_template_params() -> None:
    assert normalise_number("0812-3456-7890") == WA_ID
    assert normalise_number("+62 812 3456 7890") == WA_ID
    assert template_param("a\nb\tc     d", 100) == "a · b · c · d"
    assert len(template_param("x" * 900, 700)) == 700
    out = render({"kind": "digest", "digest": {"date": "1 Des"}, "agency_name": "PUPR"}, Links(dashboard="http://d"))
    assert len(out.template_params) == 3 and all("\n" not in p for p in out.template_params)


def test_template_alert_sent_and_button_reply_acknowledges(
    sqlite_db: Database, config: AppConfig, wa: WhatsAppStub
) -> None:
    db = sqlite_db
    cfg = wa_config(config, wa)
    alert = _alert(db, cfg)
    report = deliver_due(db, cfg, T0)
    assert (report.sent, report.dead) == (1, 0), report.errors
    (sent,) = wa.sent()
    assert sent["to"] == WA_ID and sent["type"] == "template"
    template = sent["template"]
    assert (template["name"], template["language"]["code"]) == ("oki_peringatan", "id")
    params = [p["text"] for p in template["components"][0]["parameters"]]
    assert params[0].startswith("[Peringatan · NAIK] OKI-") and "Sebaran:" in params[1]
    assert params[2].endswith(f"/issues/{alert.issue_id}")
    buttons = [c for c in template["components"] if c["type"] == "button"]
    assert [b["parameters"][0]["payload"] for b in buttons] == [
        f"ack:{alert.ack_token}",
        f"fb:n:{alert.ack_token}",
        f"fb:d:{alert.ack_token}",
    ]
    assert wa.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert _delivery(db).external_id == wa.requests[0].wamid

    clock = SimulatedClock(T0 + timedelta(minutes=20))
    with TestClient(create_app(cfg, db, clock)) as client:
        # Meta's verification of the callback URL.
        ok = client.get(
            "/whatsapp/webhook",
            params={"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"},
        )
        assert (ok.status_code, ok.text) == (200, "1158201444")
        bad = client.get(
            "/whatsapp/webhook", params={"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "1"}
        )
        assert bad.status_code == 403

        body, signature = wa.press_button(WA_ID, f"ack:{alert.ack_token}", at=(T0 + timedelta(minutes=19)).timestamp())
        # A forged or altered body is refused and changes nothing.
        assert post_webhook(client, body, "sha256=" + "0" * 64) == 403
        assert post_webhook(client, body + b" ", signature) == 403
        assert post_webhook(client, body, "") == 403
        with db.session() as s:
            assert s.get(Issue, alert.issue_id).acknowledged_at is None  # type: ignore[union-attr]
        assert post_webhook(client, body, signature) == 200
    with db.session() as s:
        issue = s.get(Issue, alert.issue_id)
        assert issue is not None and issue.acknowledged_by == f"whatsapp:+{WA_ID}"
        assert s.get(Alert, alert.id).acknowledged_at is not None  # type: ignore[union-attr]
        # The press opened the 24-hour window.
        assert conversation_open(s, NUMBER, T0 + timedelta(hours=24, minutes=18))
        assert not conversation_open(s, NUMBER, T0 + timedelta(hours=24, minutes=20))
    reply = wa.sent()[-1]
    assert reply["type"] == "text" and reply["text"]["body"].startswith(f"Dicatat untuk isu OKI-{alert.issue_id}")
    assert reply["context"]["message_id"].startswith("wamid.IN")


def test_inside_the_window_a_free_form_message_with_reply_buttons(
    sqlite_db: Database, config: AppConfig, wa: WhatsAppStub
) -> None:
    db = sqlite_db
    cfg = wa_config(config, wa)
    with TestClient(create_app(cfg, db, SimulatedClock(T0))) as client:
        assert post_webhook(client, *wa.user_writes(WA_ID, "halo", at=(T0 - timedelta(hours=2)).timestamp())) == 200
        alert = _alert(db, cfg)
        assert deliver_due(db, cfg, T0).sent == 1
        (sent,) = wa.sent()
        assert sent["type"] == "interactive"
        assert "Sebaran:" in sent["interactive"]["body"]["text"] and len(sent["interactive"]["body"]["text"]) <= 1024
        ids = [b["reply"]["id"] for b in sent["interactive"]["action"]["buttons"]]
        assert ids[0] == f"ack:{alert.ack_token}" and len(ids) == 3
        # A reply button (not a template button) acknowledges too.
        assert post_webhook(client, *wa.press_button(WA_ID, ids[0], at=T0.timestamp())) == 200
    with db.session() as s:
        assert s.get(Issue, alert.issue_id).acknowledged_at is not None  # type: ignore[union-attr]


def test_window_error_131047_falls_back_to_the_template(db: Database, config: AppConfig, wa: WhatsAppStub) -> None:
    cfg = wa_config(config, wa)
    from alerts.conversation import record_inbound

    with db.session() as s:
        record_inbound(s, NUMBER, T0 - timedelta(hours=1))  # our record: open; WhatsApp: closed
    _alert(db, cfg)
    report = deliver_due(db, cfg, T0)
    assert report.sent == 1, report.errors
    first, second = wa.requests
    assert (first.status, first.body["type"]) == (400, "interactive")
    assert (second.status, second.body["type"]) == (200, "template")
    assert _delivery(db).status == "sent"


def test_window_error_in_a_status_webhook_sends_the_template_again(
    sqlite_db: Database, config: AppConfig, wa: WhatsAppStub
) -> None:
    db = sqlite_db
    cfg = wa_config(config, wa)
    wa.open_window(WA_ID)
    with TestClient(create_app(cfg, db, SimulatedClock(T0))) as client:
        assert post_webhook(client, *wa.user_writes(WA_ID, "halo", at=T0.timestamp())) == 200
        _alert(db, cfg)
        assert deliver_due(db, cfg, T0).sent == 1
        wamid = wa.requests[-1].wamid
        assert wamid is not None and wa.sent()[-1]["type"] == "interactive"
        # Meta accepted it, then reports it undeliverable: the window had closed.
        assert post_webhook(client, *wa.failed_status(wamid, WA_ID, 131047, "Re-engagement message")) == 200
    d = _delivery(db)
    assert d.status == "failed" and "24 jam" in (d.last_error or "")
    assert deliver_due(db, cfg, T0 + timedelta(minutes=2)).sent == 1
    assert wa.sent()[-1]["type"] == "template"


def test_rate_limit_is_retried_with_backoff(db: Database, config: AppConfig, wa: WhatsAppStub) -> None:
    cfg = wa_config(config, wa)
    _alert(db, cfg)
    wa.fail_next(429, 130429, "Rate limit hit")
    report = deliver_due(db, cfg, T0)
    assert (report.sent, report.failed, report.dead) == (0, 1, 0)
    d = _delivery(db)
    assert d.status == "failed" and "kode 130429" in (d.last_error or "") and d.next_attempt_at > T0
    assert deliver_due(db, cfg, T0).claimed == 0  # not before the backoff
    wa.fail_next(400, 131056, "(Business Account, Consumer Account) pair rate limit hit")
    assert deliver_due(db, cfg, T0 + timedelta(hours=1)).failed == 1
    assert deliver_due(db, cfg, T0 + timedelta(hours=2)).sent == 1
    assert [r.status for r in wa.requests] == [429, 400, 200]


@pytest.mark.parametrize(
    ("code", "said"),
    [
        (132001, "templat WhatsApp tidak ada"),
        (190, "token akses WhatsApp kedaluwarsa"),
        (131026, "tidak dapat diterima"),
    ],
)
def test_permanent_errors_give_up_with_a_reason_in_bahasa(
    sqlite_db: Database, config: AppConfig, wa: WhatsAppStub, code: int, said: str
) -> None:
    db = sqlite_db
    cfg = wa_config(config, wa)
    _alert(db, cfg)
    wa.fail_next(400 if code != 190 else 401, code, "error")
    report = deliver_due(db, cfg, T0)
    assert report.dead == 1
    d = _delivery(db)
    assert d.status == "dead" and said in (d.last_error or "") and f"kode {code}" in (d.last_error or "")
    with db.session() as s:
        assert s.scalars(select(Alert).where(Alert.kind == "delivery_failed")).all()


def test_a_wrong_template_is_refused_by_the_documented_check(
    sqlite_db: Database, config: AppConfig, wa: WhatsAppStub
) -> None:
    wa.templates["oki_peringatan"] = 4  # the approved template has another parameter count
    cfg = wa_config(config, wa)
    _alert(sqlite_db, cfg)
    assert deliver_due(sqlite_db, cfg, T0).dead == 1
    assert "jumlah parameter templat" in (_delivery(sqlite_db).last_error or "")


def test_error_mapping() -> None:
    assert classify_error(400, {"error": {"code": 131056}}).retry_after == 6.0
    assert classify_error(503, {}).temporary
    assert not classify_error(400, {"error": {"code": 132000}}).temporary
    assert not classify_error(400, {"error": {"code": 999999}}).temporary
    assert classify_error(400, {"error": {"code": "x"}}).code == -1
    assert "kode" not in str(classify_error(502, "<html>bad gateway</html>"))


def test_webhook_verification_needs_the_configured_token(config: AppConfig, wa: WhatsAppStub) -> None:
    cfg = wa_config(config, wa)
    assert verify_subscription(cfg, "subscribe", VERIFY, "42") == "42"
    assert verify_subscription(cfg, "unsubscribe", VERIFY, "42") is None
    assert verify_subscription(cfg, "subscribe", None, "42") is None
    assert sign_body("k", b"{}").startswith("sha256=")


@pytest.mark.parametrize("body", ["form", "json"])
def test_gateway_profile_posts_text_with_the_confirmation_link(
    sqlite_db: Database, config: AppConfig, wa: WhatsAppStub, body: str
) -> None:
    cfg = wa_config(
        config,
        wa,
        profile="gateway",
        gateway={
            "url": wa.base_url + "/gateway/send",
            "token_env": "OKI_TEST_WA_GATEWAY",
            "body": body,
            "extra_fields": {"countryCode": "62"},
        },
    )
    _alert(sqlite_db, cfg)
    report = deliver_due(sqlite_db, cfg, T0)
    assert report.sent == 1, report.errors
    (req,) = wa.gateway_requests
    fields = req["fields"]
    assert fields["target"] == WA_ID and fields["countryCode"] == "62"
    assert "/alerts/action/" in fields["message"] and "Sebaran:" in fields["message"]
    assert req["headers"]["authorization"] == "gateway-token"
    assert _delivery(sqlite_db).external_id is not None


def test_gateway_refusal_is_retried_with_its_reason(
    sqlite_db: Database, config: AppConfig, wa: WhatsAppStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKI_TEST_WA_GATEWAY", "wrong-token")
    cfg = wa_config(config, wa, profile="gateway")
    _alert(sqlite_db, cfg)
    assert deliver_due(sqlite_db, cfg, T0).failed == 1
    assert "invalid token" in (_delivery(sqlite_db).last_error or "")


def test_cloud_profile_needs_a_phone_number_id(config: AppConfig, wa: WhatsAppStub) -> None:
    with pytest.raises(ValueError, match="phone_number_id"):
        wa_config(config, wa, cloud={"phone_number_id": ""})


def test_status_button_asks_for_the_note_and_the_reply_sets_the_answer(
    sqlite_db: Database, config: AppConfig, wa: WhatsAppStub
) -> None:
    from monitor.store.models import IssueResponse

    db = sqlite_db
    cfg = wa_config(
        config,
        wa,
        cloud={
            **wa_config(config, wa).alerts.whatsapp.cloud.model_dump(),
            "template_buttons": ["ack", "diproses", "selesai"],
        },
    )
    alert = _alert(db, cfg)
    assert deliver_due(db, cfg, T0).sent == 1
    buttons = [c["parameters"][0]["payload"] for c in wa.sent()[0]["template"]["components"] if c["type"] == "button"]
    assert buttons == [f"ack:{alert.ack_token}", f"st:diproses:{alert.ack_token}", f"st:selesai:{alert.ack_token}"]
    at = (T0 + timedelta(minutes=5)).timestamp()
    with TestClient(create_app(cfg, db, SimulatedClock(T0 + timedelta(minutes=5)))) as client:
        assert post_webhook(client, *wa.press_button(WA_ID, buttons[1], at=at)) == 200
        assert "Tulis catatan tindak lanjut" in wa.sent()[-1]["text"]["body"]
        with db.session() as s:
            assert s.get(Issue, alert.issue_id).response_status != "diproses"  # type: ignore[union-attr]
        assert post_webhook(client, *wa.user_writes(WA_ID, "Tim PUPR sudah menambal jalan di Cengal", at=at)) == 200
        assert wa.sent()[-1]["text"]["body"].startswith(f"Status isu OKI-{alert.issue_id} sekarang Diproses")
        # A later chat message is just a message: nothing waits for a note any more.
        assert post_webhook(client, *wa.user_writes(WA_ID, "terima kasih", at=at)) == 200
    with db.session() as s:
        issue = s.get(Issue, alert.issue_id)
        assert issue is not None and issue.response_status == "diproses" and issue.acknowledged_at is not None
        steps = s.scalars(select(IssueResponse).where(IssueResponse.issue_id == issue.id)).all()
        noted = [r for r in steps if r.status == "diproses"]
        assert (
            len(noted) == 1
            and noted[0].channel == "whatsapp"
            and noted[0].note == "Tim PUPR sudah menambal jalan di Cengal"
        )
        assert noted[0].actor == f"whatsapp:+{WA_ID}"
    assert len([m for m in wa.sent() if m["type"] == "text"]) == 2
