"""The agency answers from Telegram: inline buttons, the note asked by a reply, the agency picker (Bot API stub)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from alerts import respond
from alerts.channels.telegram import handle_update, poll_updates
from alerts.engine import evaluate
from alerts.outbox import deliver_due
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Alert, Issue, Silence
from tests.telegram_server import TOKEN, TOKEN_ENV, TelegramStub, alert_config, make_issue

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
PUPR_CHAT = "-1001000000002"
DINSOS_CHAT = "-1001000000008"


@pytest.fixture
def tg(monkeypatch: pytest.MonkeyPatch) -> Iterator[TelegramStub]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with TelegramStub(TOKEN) as stub:
        yield stub


def _buttons(tg: TelegramStub, chat: str) -> list[list[tuple[str, str]]]:
    last = [
        m for m in tg.sent_messages() if str(m["chat_id"]) == chat and "inline_keyboard" in str(m.get("reply_markup"))
    ]
    rows = last[-1]["reply_markup"]["inline_keyboard"]
    return [[(b["text"], b.get("callback_data", "")) for b in row] for row in rows]


def _last_prompt(tg: TelegramStub, chat: str) -> tuple[int, str]:
    prompts = tg.prompts(chat)
    assert prompts, "the bot asked for a note"
    _c, mid, text = prompts[-1]
    return mid, text


def _said(tg: TelegramStub, chat: str) -> list[str]:
    return [str(m["text"]) for m in tg.sent_messages() if str(m["chat_id"]) == chat]


def test_buttons_and_note_reply_walk_the_loop(db: Database, config: AppConfig, tg: TelegramStub) -> None:
    cfg = alert_config(config, telegram_base=tg.base_url, smtp={"enabled": False})
    with db.session() as s:
        issue_id = make_issue(s, T0, agency_code="pupr").id
        alert = next(a for a in evaluate(s, cfg, T0) if a.receiver == "agency:pupr")
        token = alert.ack_token
    assert deliver_due(db, cfg, T0).sent >= 1
    rows = _buttons(tg, PUPR_CHAT)
    assert [t for t, _ in rows[0]] == ["✅ Terima", "Diproses", "Selesai"]
    assert [t for t, _ in rows[1]] == ["Salah dinas", "Bukan keluhan", "Tunda 24 jam"]

    # Terima: acknowledged, the other buttons stay.
    assert tg.press_button(f"ack:{token}", username="staf_pupr")
    assert poll_updates(db, cfg, T0 + timedelta(minutes=10)) == 1
    edited = tg.calls("editMessageReplyMarkup")[-1].params["reply_markup"]["inline_keyboard"]
    assert edited[0][0]["text"] == "✅ Diterima oleh @staf_pupr"
    assert any(b["callback_data"] == f"rs:p:{token}" for row in edited for b in row)

    # Diproses: the bot asks for the note; the reply is the note.
    assert tg.press_button(f"rs:p:{token}", username="staf_pupr")
    assert poll_updates(db, cfg, T0 + timedelta(minutes=20)) == 1
    mid, text = _last_prompt(tg, PUPR_CHAT)
    assert f"OKI-{issue_id} · Diproses" in text and "balas pesan ini" in text
    assert tg.reply(PUPR_CHAT, mid, "   ", username="staf_pupr")
    assert poll_updates(db, cfg, T0 + timedelta(minutes=21)) == 0
    assert any(t.startswith("Belum dicatat: catatan wajib diisi") for t in _said(tg, PUPR_CHAT))
    assert tg.reply(PUPR_CHAT, mid, "Tim sudah ke lokasi, tambal sulam besok", username="staf_pupr")
    assert poll_updates(db, cfg, T0 + timedelta(minutes=25)) == 1
    assert any(f"OKI-{issue_id}: status Diproses dicatat" in t for t in _said(tg, PUPR_CHAT))

    # A reply to the prompt from a chat the alert never went to changes nothing.
    forged = {
        "update_id": 1,
        "message": {
            "message_id": 5,
            "from": {"id": 9, "username": "orang_lain"},
            "chat": {"id": -1007777},
            "text": "Selesai kok",
            "reply_to_message": {"message_id": mid, "from": {"id": 1, "is_bot": True}, "text": f"Ref: s/{token}"},
        },
    }
    with db.session() as s:
        assert handle_update(s, cfg, forged, T0 + timedelta(minutes=26)) is False
        issue = s.get(Issue, issue_id)
        assert issue is not None and issue.response_status == "diproses"

    # Salah dinas: a picker by name; picking moves the issue and tells Dinas Sosial at once.
    assert tg.press_button(f"rr:{token}", username="staf_pupr")
    assert poll_updates(db, cfg, T0 + timedelta(minutes=30)) == 1
    picker = _buttons(tg, PUPR_CHAT)
    names = [t for row in picker for t, _ in row]
    assert "Dinas Sosial OKI" in names and "Dinas PUPR OKI" not in names
    assert tg.press_button(f"rt:dinsos:{token}", username="staf_pupr")
    assert poll_updates(db, cfg, T0 + timedelta(minutes=31)) == 1
    assert deliver_due(db, cfg, T0 + timedelta(minutes=31)).sent == 1, "Dinas Sosial hears in one delivery pass"
    told = _said(tg, DINSOS_CHAT)
    assert told and "Dinas PUPR OKI" in told[-1], "the new agency reads where it came from"
    with db.session() as s:
        new = s.scalars(select(Alert).where(Alert.receiver == "agency:dinsos")).one()
        new_token = new.ack_token

    # The old buttons no longer act; the new agency's do.
    assert tg.press_button(f"rs:s:{token}", username="staf_pupr")
    poll_updates(db, cfg, T0 + timedelta(minutes=32))
    answers = [c.params["text"] for c in tg.calls("answerCallbackQuery")]
    assert "sudah dialihkan ke Dinas Sosial OKI" in answers[-1]

    assert tg.press_button(f"sz:{new_token}", username="staf_dinsos")
    assert poll_updates(db, cfg, T0 + timedelta(minutes=40)) == 1
    mid, text = _last_prompt(tg, DINSOS_CHAT)
    assert "Tunda 24 jam" in text
    assert tg.reply(DINSOS_CHAT, mid, "Menunggu data penerima", username="staf_dinsos")
    assert poll_updates(db, cfg, T0 + timedelta(minutes=41)) == 1

    assert tg.press_button(f"rs:s:{new_token}", username="staf_dinsos")
    poll_updates(db, cfg, T0 + timedelta(minutes=50))
    mid, _text = _last_prompt(tg, DINSOS_CHAT)
    assert tg.reply(
        DINSOS_CHAT, mid, "Bantuan sudah disalurkan https://okikab.example/bukti/7.", username="staf_dinsos"
    )
    assert poll_updates(db, cfg, T0 + timedelta(hours=1)) == 1

    with db.session() as s:
        steps = [(r.kind, r.status, r.agency_code, r.actor) for r in respond.history(s, issue_id)]
        assert steps == [
            ("assigned", "belum_ditanggapi", "pupr", "sistem"),
            ("status", "diterima", "pupr", "telegram:@staf_pupr"),
            ("status", "diproses", "pupr", "telegram:@staf_pupr"),
            ("rerouted", "salah_dinas", "pupr", "telegram:@staf_pupr"),
            ("assigned", "belum_ditanggapi", "dinsos", "telegram:@staf_pupr"),
            ("snoozed", "belum_ditanggapi", "dinsos", "telegram:@staf_dinsos"),
            ("status", "diterima", "dinsos", "telegram:@staf_dinsos"),
            ("status", "selesai", "dinsos", "telegram:@staf_dinsos"),
        ]
        rows = respond.history(s, issue_id)
        assert rows[2].note == "Tim sudah ke lokasi, tambal sulam besok"
        assert rows[-1].evidence_url == "https://okikab.example/bukti/7"
        assert all(r.channel == "telegram" for r in rows[1:])
        silence = s.scalars(select(Silence)).one()
        assert silence.comment == "Menunggu data penerima" and silence.ends_at == T0 + timedelta(minutes=41, hours=24)
        issue = s.get(Issue, issue_id)
        assert issue is not None and issue.status == "resolved" and issue.agency_code == "dinsos"
