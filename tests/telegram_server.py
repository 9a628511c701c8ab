"""Test helpers for the alert tests: the fake Telegram Bot API (it lives in monitor/demo so the demo can
use it without importing tests), a config pointed at local servers, and issue/post factories.

Its ``tg`` and ``smtp`` fixtures are offered to every test through ``tests/conftest.py``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.engine import evaluate
from alerts.outbox import deliver_due
from monitor.demo.smtp_sink import SmtpSink
from monitor.demo.telegram_stub import StubRequest, TelegramStub, check_html, visible_length
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Alert, Issue, IssuePost, Post, Signal, Source

__all__ = [
    "TOKEN",
    "TOKEN_ENV",
    "StubRequest",
    "TelegramStub",
    "add_posts",
    "alert_config",
    "check_html",
    "mailed_alert",
    "make_issue",
    "received_copies",
    "visible_length",
]

TOKEN = "123456:TEST-bot-token"
TOKEN_ENV = "OKI_TEST_TELEGRAM_TOKEN"


@pytest.fixture
def tg(monkeypatch: pytest.MonkeyPatch) -> Iterator[TelegramStub]:
    """The Bot API stub with its token in the environment, and a secret key for the alerts' signed links."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv("OKI_MONITOR_SECRET_KEY", "test-secret-key-0123456789")
    with TelegramStub(TOKEN) as stub:
        yield stub


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A local SMTP server that keeps every mail it receives."""
    with SmtpSink() as sink:
        yield sink


def alert_config(
    base: AppConfig, *, smtp_port: int = 2525, telegram_base: str = "http://127.0.0.1:9", **alerts: Any
) -> AppConfig:
    """The shipped config with channels pointed at local servers and ``alerts`` settings overridden."""
    data = base.model_dump(by_alias=True)
    a = data["alerts"]
    a["smtp"].update(
        {"host": "127.0.0.1", "port": smtp_port, "security": "none", "enabled": True, "timeout_seconds": 5}
    )
    a["telegram"].update(
        {
            "api_base": telegram_base,
            "token_env": TOKEN_ENV,
            "enabled": True,
            "timeout_seconds": 5,
            "per_chat_interval_seconds": 0,
        }
    )
    a["quiet_hours"] = {**a.get("quiet_hours", {}), "enabled": False}
    a["receivers"] = [{"name": "humas", "email": ["humas@okikab.example"], "telegram": ["-1009999"]}]
    a["escalate_to"] = "humas"
    a.update(alerts)
    if "brief" not in alerts and "brief" in a:
        # The shipped brief goes to receivers a test may have replaced: keep only those still defined.
        names = {r["name"] for r in a["receivers"]}
        a["brief"]["receivers"] = [n for n in a["brief"]["receivers"] if n in names]
    return AppConfig.model_validate(data)


def received_copies(smtp: SmtpSink, tg: TelegramStub) -> Counter[str]:
    """How many copies of each (alert, recipient) arrived, by idempotency key / ack token."""
    seen: Counter[str] = Counter()
    with smtp.lock:
        for m in smtp.received:
            seen["mail:" + str(m.message["X-OKI-Idempotency-Key"])] += 1
    for params in tg.sent_messages():
        if "reply_markup" in params:
            token = params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            seen[f"tg:{params['chat_id']}:{token}"] += 1
        else:  # a message without buttons (a digest): its text tells it apart
            seen[f"tg:{params['chat_id']}:text:{hash(str(params.get('text', '')))}"] += 1
    return seen


def _source(session: Session) -> Source:
    src = session.scalar(select(Source).where(Source.name == "test-source"))
    if src is None:
        src = Source(name="test-source", kind="rss", enabled=True, cursor={})
        session.add(src)
        session.flush()
    return src


def make_issue(
    session: Session,
    now: datetime,
    *,
    topic: str = "infrastruktur",
    stage: str = "naik",
    kecamatan: str | None = "Cengal",
    score: float = 70.0,
    title: str = "Jalan rusak parah di Cengal",
    urgent: bool = False,
    agency_code: str | None = None,
    posts: int = 3,
) -> Issue:
    """An open issue as the pipeline would leave it, with a few posts and growth signals."""
    issue = Issue(
        topic=topic,
        agency_code=agency_code,
        kecamatan=kecamatan,
        title=title,
        status="open",
        stage=stage,
        score=score,
        p_viral=0.7,
        eta_minutes=180.0,
        urgent=urgent,
        post_count=posts,
        author_count=posts,
        first_seen=now,
        last_seen=now,
        created_at=now,
        updated_at=now,
        terms={},
    )
    session.add(issue)
    session.flush()
    add_posts(session, issue, now, posts)
    return issue


def group_of_three(session: Session, cfg: AppConfig, now: datetime) -> tuple[Alert, list[int]]:
    """Three small issues of one agency in three kecamatan, and the one group alert ``evaluate`` sends for them."""
    ids = [
        make_issue(session, now, score=30, title=f"Jalan berlubang {k}", kecamatan=k).id
        for k in ("Cengal", "Jejawi", "Lempuing")
    ]
    groups = [a for a in evaluate(session, cfg, now) if a.kind == "group"]
    assert len(groups) == 1
    return groups[0], ids


def mailed_alert(
    db: Database, config: AppConfig, monkeypatch: pytest.MonkeyPatch, now: datetime, **issue: Any
) -> tuple[AppConfig, int, str]:
    """A new issue (``make_issue``'s, with ``issue`` changed) alerted to its agency and mailed by the outbox over
    real SMTP (Telegram stubbed): the alert config (its servers stopped now), the issue's id, the e-mail's HTML."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv("OKI_MONITOR_SECRET_KEY", "test-secret-key-0123456789")
    with SmtpSink() as smtp, TelegramStub(TOKEN) as tg:
        cfg = alert_config(config, smtp_port=smtp.port, telegram_base=tg.base_url, route={"receiver": "$agency"})
        with db.session() as s:
            issue_id = make_issue(s, now, **issue).id
            evaluate(s, cfg, now)
        assert deliver_due(db, cfg, now).sent == 2  # the e-mail and the Telegram message
        (mail,) = smtp.received
    part = next(p for p in mail.message.walk() if p.get_content_type() == "text/html")
    raw = part.get_payload(decode=True)
    assert isinstance(raw, bytes)
    return cfg, issue_id, raw.decode()


def add_posts(session: Session, issue: Issue, now: datetime, n: int, text: str | None = None) -> None:
    """``n`` posts in the issue and one growth signal per post."""
    src = _source(session)
    start = session.scalar(select(Post.id).order_by(Post.id.desc()).limit(1)) or 0
    for k in range(n):
        pid = start + k + 1
        post = Post(
            source_id=src.id,
            platform="x",
            external_id=f"p{pid}",
            url=f"https://x.com/warga/status/{pid}",
            text=text or f"@warga{pid} jalan di Cengal rusak parah, tolong <b>diperbaiki</b> & cepat #{pid}",
            created_at=now,
            collected_at=now,
            content_hash=f"h{pid}",
            likes=pid,
            stage="grouped",  # already in the issue: the pipeline must not place it again
        )
        session.add(post)
        session.flush()
        session.add(IssuePost(post_id=post.id, issue_id=issue.id, added_at=now, post_created_at=post.created_at))
        session.add(Signal(issue_id=issue.id, at=now, stage=issue.stage, score=issue.score, mentions=pid - start))
    session.flush()
