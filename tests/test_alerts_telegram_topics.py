"""Telegram forum topics: every agency has its own topic in one supergroup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from alerts.channels.telegram import chat_id, thread_id
from alerts.engine import evaluate
from alerts.outbox import deliver_due
from alerts.queue import recipients
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Delivery
from tests.telegram_server import TOKEN, TOKEN_ENV, TelegramStub, alert_config, make_issue

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
GROUP = "-1001234567890"


@pytest.fixture
def tg(monkeypatch: pytest.MonkeyPatch) -> Iterator[TelegramStub]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with TelegramStub(TOKEN) as stub:
        stub.forum_topics[GROUP] = {7, 9}
        yield stub


def _cfg(config: AppConfig, tg: TelegramStub, topic: int) -> AppConfig:
    data = alert_config(
        config,
        telegram_base=tg.base_url,
        receivers=[{"name": "humas", "telegram_topics": [{"chat_id": GROUP, "thread_id": 9}]}],
        route={"receiver": "$agency"},
    ).model_dump(by_alias=True)
    data["alerts"]["smtp"]["enabled"] = False
    for agency in data["agencies"]:
        agency["emails"], agency["telegram_chat_ids"] = [], []
        agency["telegram_topics"] = [{"chat_id": GROUP, "thread_id": topic}] if agency["code"] == "pupr" else []
    return AppConfig.model_validate(data)


def test_recipient_names_chat_and_topic() -> None:
    assert (chat_id(f"{GROUP}#7"), thread_id(f"{GROUP}#7")) == (int(GROUP), 7)
    assert (chat_id("@oki_alerts"), thread_id("@oki_alerts")) == ("@oki_alerts", None)
    assert thread_id("-1009999") is None


def test_each_agency_writes_into_its_topic(db: Database, config: AppConfig, tg: TelegramStub) -> None:
    cfg = _cfg(config, tg, topic=7)
    assert ("telegram", f"{GROUP}#7") in recipients(cfg, "agency:pupr")
    assert recipients(cfg, "humas") == [("telegram", f"{GROUP}#9")]
    with db.session() as s:
        make_issue(s, T0)  # infrastruktur -> PUPR
        evaluate(s, cfg, T0)
    report = deliver_due(db, cfg, T0)
    assert report.sent == 1, report.errors
    (sent,) = tg.sent_messages()
    assert (str(sent["chat_id"]), sent["message_thread_id"]) == (GROUP, 7)


def test_a_topic_that_does_not_exist_is_a_dead_delivery_with_reason(
    db: Database, config: AppConfig, tg: TelegramStub
) -> None:
    cfg = _cfg(config, tg, topic=8)
    with db.session() as s:
        make_issue(s, T0)
        evaluate(s, cfg, T0)
    deliver_due(db, cfg, T0)
    with db.session() as s:
        dead = [d for d in s.query(Delivery).all() if d.recipient == f"{GROUP}#8"]
    assert dead and dead[0].status == "dead" and "message thread not found" in (dead[0].last_error or "")
