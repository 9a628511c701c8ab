"""Outbox delivery against a real SMTP server (aiosmtpd) and a local Telegram Bot API server."""

from __future__ import annotations

import gc
import json
import random
import time
import warnings
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest
from sqlalchemy import select

from alerts.channels.webhook import verify
from alerts.config import RetrySettings
from alerts.engine import evaluate
from alerts.outbox import backoff_seconds, deliver_due
from alerts.report import summarise
from monitor.demo.smtp_sink import SmtpSink, free_port
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Alert, Delivery, DeliveryAttempt
from tests.forks import FORKS, deliver_until_done
from tests.telegram_server import TOKEN, TOKEN_ENV, TelegramStub, alert_config, make_issue, received_copies

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _cfg(config: AppConfig, smtp: SmtpSink, tg: TelegramStub, **kw: Any) -> AppConfig:
    return alert_config(config, smtp_port=smtp.port, telegram_base=tg.base_url, **kw)


def _subject(mail: Any) -> str:
    return str(make_header(decode_header(mail.subject)))


def _deliveries(db: Database) -> list[Delivery]:
    with db.session() as s:
        return list(s.scalars(select(Delivery).order_by(Delivery.id)))


def test_first_alert_and_update_reach_email_and_telegram(
    db: Database, config: AppConfig, smtp: SmtpSink, tg: TelegramStub
) -> None:
    cfg = _cfg(config, smtp, tg, route={"receiver": "$agency"})
    with db.session() as s:
        issue = make_issue(s, T0)
        evaluate(s, cfg, T0)
    report = deliver_due(db, cfg, T0)
    assert (report.sent, report.failed, report.dead) == (2, 0, 0)
    with db.session() as s:
        s.get(type(issue), issue.id).stage = "viral"  # type: ignore[union-attr]
        evaluate(s, cfg, T0 + timedelta(minutes=10))
    assert deliver_due(db, cfg, T0 + timedelta(minutes=10)).sent == 2

    first_mail, update_mail = smtp.received
    assert first_mail.rcpt_tos == ("pupr@okikab.example",)
    assert "Jalan rusak parah di Cengal" in _subject(first_mail)
    types = [p.get_content_type() for p in first_mail.message.walk()]
    assert {"text/plain", "text/html", "image/png"} <= set(types)
    assert update_mail.message["In-Reply-To"] == first_mail.message["Message-ID"]
    part = next(p for p in first_mail.message.walk() if p.get_content_type() == "text/plain")
    raw = part.get_payload(decode=True)
    assert isinstance(raw, bytes)
    plain = raw.decode()
    assert "Kecamatan Cengal" in plain and "/alerts/action/" in plain and "@warga" not in plain

    first_tg, update_tg = tg.sent_messages()
    assert first_tg["chat_id"] == -1001000000002 and first_tg["parse_mode"] == "HTML"
    buttons = [b for row in first_tg["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons[0]["text"] == "✅ Terima" and buttons[0]["callback_data"].startswith("ack:")
    assert {b["text"] for b in buttons} >= {
        "Diproses",
        "Selesai",
        "Bukan keluhan",
        "Bukan OKI",
        "Salah dinas",
        "Tunda 24 jam",
    }
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons if "callback_data" in b)
    assert "Pembaruan" in update_tg["text"]
    # The update's growth data is the first's: the same picture is not sent again.
    assert len(tg.calls("sendPhoto")) == 1
    assert update_tg["reply_parameters"]["message_id"] == 1
    with db.session() as s:
        ids = {d.external_id for d in s.scalars(select(Delivery).where(Delivery.channel == "telegram"))}
    assert ids == {"1", "3"}  # message ids (2 is the chart)


def test_telegram_429_honours_retry_after(
    sqlite_db: Database, config: AppConfig, smtp: SmtpSink, tg: TelegramStub
) -> None:
    db = sqlite_db
    cfg = _cfg(config, smtp, tg)
    with db.session() as s:
        make_issue(s, T0)
        evaluate(s, cfg, T0)
    tg.fail_next("sendMessage", 429, "Too Many Requests: retry after 40", {"retry_after": 40})
    report = deliver_due(db, cfg, T0, rng=random.Random(1))
    assert (report.sent, report.failed) == (1, 1)
    failed = next(d for d in _deliveries(db) if d.channel == "telegram")
    assert failed.status == "failed" and failed.next_attempt_at >= T0 + timedelta(seconds=40)
    assert deliver_due(db, cfg, T0 + timedelta(seconds=30)).claimed == 0
    assert deliver_due(db, cfg, T0 + timedelta(seconds=41)).sent == 1
    with db.session() as s:
        attempts = list(s.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == failed.id)))
    assert [(a.ok, a.retry_after) for a in attempts] == [(False, 40.0), (True, None)]


def test_permanent_failures_are_dead_and_shown_not_retried(
    sqlite_db: Database, config: AppConfig, smtp: SmtpSink, tg: TelegramStub
) -> None:
    db = sqlite_db
    cfg = _cfg(config, smtp, tg)
    tg.blocked_chats.add("-1001000000002")
    with db.session() as s:
        make_issue(s, T0)
        make_issue(s, T0, topic="air_bersih", title="PDAM mati", kecamatan="Jejawi")
        evaluate(s, cfg, T0)
    tg.missing_chats.add("-1001000000003")
    report = deliver_due(db, cfg, T0)
    assert report.dead == 2 and report.sent == 2
    dead = [d for d in _deliveries(db) if d.status == "dead"]
    assert {d.last_error for d in dead} >= {
        "Telegram menolak pesan ke chat -1001000000002: Forbidden: bot was blocked by the user"
    }
    with db.session() as s:
        notices = list(s.scalars(select(Alert).where(Alert.kind == "delivery_failed")))
    assert sorted(n.payload["failure"]["recipient"] for n in notices) == ["-1001000000002", "-1001000000003"]
    assert {n.receiver for n in notices} == {"agency:diskominfo"}
    assert deliver_due(db, cfg, T0).sent == 4  # the admins' notices (e-mail + Telegram each)
    assert deliver_due(db, cfg, T0 + timedelta(days=1)).claimed == 0
    with db.session() as s:
        lines = summarise(s)
    assert sum("GAGAL PERMANEN" in line and "blocked" in line for line in lines) == 1


def test_smtp_down_queues_and_delivers_everything_in_order(db: Database, config: AppConfig, tg: TelegramStub) -> None:
    port = free_port()  # nothing listens there until the sink below starts
    cfg = alert_config(config, smtp_port=port, telegram_base=tg.base_url, telegram={"enabled": False})
    with db.session() as s:
        for k in range(6):
            make_issue(s, T0 + timedelta(minutes=k), title=f"Jalan rusak nomor {k}", score=80)
            evaluate(s, cfg, T0 + timedelta(minutes=k))
    now = T0 + timedelta(minutes=10)
    rng = random.Random(7)
    for _ in range(8):  # server down for a while: nothing is lost, attempts are recorded
        deliver_due(db, cfg, now, rng=rng)
        now += timedelta(minutes=3)
    assert all(d.status in ("failed", "pending") for d in _deliveries(db))
    assert any(d.attempts >= 3 for d in _deliveries(db))
    with SmtpSink(port) as sink:
        for _ in range(40):
            deliver_due(db, cfg, now, rng=rng)
            if all(d.status == "sent" for d in _deliveries(db)):
                break
            now += timedelta(minutes=5)
        subjects = [_subject(m) for m in sink.received]
    assert [int(s.split("nomor ")[1].split(" ")[0]) for s in subjects] == list(range(6))
    assert all(d.status == "sent" for d in _deliveries(db))


def test_smtp_4xx_is_retried_and_5xx_is_permanent(
    sqlite_db: Database, config: AppConfig, smtp: SmtpSink, tg: TelegramStub
) -> None:
    db = sqlite_db
    cfg = _cfg(config, smtp, tg, telegram={"enabled": False})
    with db.session() as s:
        make_issue(s, T0)
        evaluate(s, cfg, T0)
    smtp.refuse_with = "451 4.3.0 coba lagi nanti"
    assert deliver_due(db, cfg, T0).failed == 1
    smtp.refuse_with = "550 5.1.1 mailbox tidak ada"
    assert deliver_due(db, cfg, T0 + timedelta(hours=1)).dead == 1
    assert "550" in (_deliveries(db)[0].last_error or "")


def test_a_mail_sink_that_never_starts_leaves_nothing_open() -> None:
    """Made and dropped without start(), a sink holds no event loop or socket for the garbage collector."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        SmtpSink()
        gc.collect()
    assert [str(w.message) for w in seen if issubclass(w.category, ResourceWarning)] == []


def test_backoff_grows_with_jitter_and_respects_retry_after() -> None:
    retry = RetrySettings()
    rng = random.Random(3)
    delays = [backoff_seconds(n, retry, None, rng) for n in range(1, 12)]
    assert delays[0] >= 2.5 and delays[0] <= 5
    assert delays[5] > delays[1]
    assert max(delays) <= retry.max_seconds
    assert backoff_seconds(1, retry, 120, rng) == 120


def test_webhook_is_signed(sqlite_db: Database, config: AppConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    db = sqlite_db
    got: list[tuple[dict[str, str], bytes]] = []

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

    server = HTTPServer(("127.0.0.1", 0), H)
    Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    monkeypatch.setenv("OKI_TEST_HOOK_SECRET", "hook-secret")
    cfg = alert_config(
        config,
        smtp={"enabled": False},
        telegram={"enabled": False},
        receivers=[{"name": "humas", "webhook": [{"url": url, "secret_env": "OKI_TEST_HOOK_SECRET"}]}],
        route={"receiver": "humas"},
    )
    try:
        with db.session() as s:
            make_issue(s, T0)
            evaluate(s, cfg, T0)
        assert deliver_due(db, cfg, T0).sent == 1
    finally:
        server.shutdown()
        server.server_close()  # shutdown() only stops the loop; the listening socket stays open until closed
    headers, body = got[0]
    assert verify("hook-secret", headers["X-OKI-Timestamp"], body, headers["X-OKI-Signature"])
    assert not verify("wrong", headers["X-OKI-Timestamp"], body, headers["X-OKI-Signature"])
    assert json.loads(body)["issue"]["kecamatan"] == "Cengal"
    assert headers["Idempotency-Key"].startswith("oki-a")


# --- crash safety: SIGKILL the worker mid-batch ------------------------------------------------------

@pytest.mark.slow
def test_sigkill_mid_batch_loses_nothing_and_duplicates_at_most_once(
    sqlite_db: Database, config: AppConfig, smtp: SmtpSink, tg: TelegramStub, tmp_path: Path
) -> None:
    db = sqlite_db
    cfg = _cfg(
        config,
        smtp,
        tg,
        route={"receiver": "$agency", "routes": [{"receiver": "humas", "continue": True}, {"receiver": "$agency"}]},
    )
    with db.session() as s:
        for k in range(16):
            make_issue(s, T0, title=f"Keluhan nomor {k}", kecamatan=f"K{k}", score=80, posts=1)
        evaluate(s, cfg, T0)
        total = s.query(Delivery).count()
    assert total == 16 * 4
    cfg_file = tmp_path / "cfg.json"
    cfg_file.write_text(cfg.model_dump_json(by_alias=True))
    env = {TOKEN_ENV: TOKEN}
    now = T0
    lease = timedelta(seconds=cfg.alerts.retry.lease_seconds + 1)
    kills = 0
    for round_ in range(3):
        before = sum(received_copies(smtp, tg).values())
        # A process of its own, forked from the kill tests' server (tests/forks.py), killed with SIGKILL.
        proc = FORKS.Process(
            target=deliver_until_done, args=(env, str(cfg_file), db.url, now.isoformat(), 10), daemon=True
        )
        proc.start()
        target = before + 5 + 3 * round_
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.exitcode is None:
            if sum(received_copies(smtp, tg).values()) >= target:
                proc.kill()
                kills += 1
                break
            time.sleep(0.005)
        proc.join(timeout=30)
        now += lease  # the next worker starts after the dead one's lease ran out
    assert kills >= 2, "the worker finished before it could be killed; the test did not test anything"
    for _ in range(10):
        if deliver_due(db, cfg, now, limit=200).claimed == 0:
            break
        now += lease
    statuses = Counter(d.status for d in _deliveries(db))
    assert statuses == {"sent": total}
    seen = received_copies(smtp, tg)
    assert len(seen) == total, "every alert reached every recipient"
    assert max(seen.values()) <= 2
    assert sum(seen.values()) - total <= kills, "at most one duplicate per kill"


def test_service_pipeline_sends_new_alerts_without_waiting_for_the_delivery_tick(
    db: Database, config: AppConfig, smtp: SmtpSink, tg: TelegramStub
) -> None:
    from monitor.kernel.clock import SimulatedClock
    from monitor.service import MonitorService
    from monitor.store.models import IssuePost, Post
    from tests.pipeline_support import FixedClassifier

    cfg = _cfg(config, smtp, tg, route={"receiver": "$agency"}).model_copy(update={"sources": []})
    start = T0 - timedelta(hours=4)
    with db.session() as s:
        issue = make_issue(s, start, stage="baru", posts=1)
        # A climb: posts by different residents, each quarter hour busier than the last.
        k = 0
        for quarter in range(16):
            for _ in range(1 + quarter // 2):
                k += 1
                at = start + timedelta(minutes=15 * quarter + k % 15)
                post = Post(
                    source_id=1,
                    platform="x",
                    external_id=f"climb{k}",
                    text=f"jalan rusak di Cengal makin parah, lubang besar nomor {k}",
                    created_at=at,
                    collected_at=at,
                    content_hash=f"climb{k}",
                    author_key=f"a_{k:024d}",
                    stage="grouped",
                )
                s.add(post)
                s.flush()
                s.add(IssuePost(post_id=post.id, issue_id=issue.id, added_at=at, post_created_at=post.created_at))
    svc = MonitorService(cfg, db, SimulatedClock(T0), classifier=FixedClassifier())
    report = svc.pipeline()
    assert report.alerts >= 1
    statuses = Counter(d.status for d in _deliveries(db))
    assert statuses["sent"] >= 2 and statuses["sent"] == sum(statuses.values())  # nothing left for the tick
    assert len(smtp.received) >= 1 and len(tg.sent_messages()) >= 1
